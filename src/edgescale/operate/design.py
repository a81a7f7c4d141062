"""From a designed system to deployments: what was optimized is what runs.

Each (service, site) entry of a plan (an optimized one from ``edgescale optimize``, or the scenario's
default plan) becomes a deployment pinned to that site with the planned replica count, the service's
cores and memory. Agents carry the label ``edgescale/site=<site>`` (every agent has it), so the
replicas land on the planned sites. The model has no commands (no container runtime exists on these
machines): by default each replica runs a small HTTP server standing in for the service, with the
service's parameters in its environment; pass a command to run the real thing.
"""

from __future__ import annotations

import hashlib
import re
import sys
from typing import Any

from edgescale.model.plan import Plan
from edgescale.model.schema import Scenario
from edgescale.operate.cluster import SITE_LABEL

__all__ = ["SITE_LABEL", "deployment_name", "deployments_from_plan"]


def deployment_name(service: str, site: str) -> str:
    """A valid deployment name for (service, site): lowercase, ``[a-z0-9-]``, at most 63 characters.

    Examples
    --------
    >>> deployment_name("api", "edge-7")
    'api-edge-7'
    >>> deployment_name("api", "Edge_7")  # changed, so a hash keeps names of different sites apart
    'api-edge-7-...'
    """
    raw = f"{service}-{site}"
    if re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", raw):
        return raw
    clean = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")[:56].rstrip("-") or "svc"
    return f"{clean}-{hashlib.sha256(raw.encode()).hexdigest()[:6]}"


def stand_in_command() -> list[str]:
    """The default workload: Python's HTTP server on the replica's port."""
    return [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"]


def deployments_from_plan(
    scenario: Scenario, plan: Plan | None = None, *, command: list[str] | None = None
) -> list[dict[str, Any]]:
    """Deployment documents for every (service, site) replica entry of *plan* (default: the default plan).

    Examples
    --------
    >>> from edgescale.model.io import scenario_from_dict
    >>> s = scenario_from_dict({"schema_version": 1, "name": "t", "sites": [
    ...     {"id": "e1", "tier": "edge", "cpu_cores": 4, "location": {"lat": 0, "lon": 0}}],
    ...     "services": [{"id": "api", "work_ms": 5, "cpu_cores": 0.5}]})
    >>> [(d["name"], d["replicas"], d["node_selector"]) for d in deployments_from_plan(s)]
    [('api-e1', 8, {'edgescale/site': 'e1'})]
    """
    if plan is None:
        from edgescale.model.arrays import compile_scenario
        from edgescale.model.default_plan import default_plan

        plan, _ = default_plan(scenario, compile_scenario(scenario, devices=False))
    services = {s.id: s for s in scenario.services}
    out = []
    for e in plan.replicas:
        svc = services.get(e.service)
        if svc is None:
            continue
        out.append(
            {
                "name": deployment_name(e.service, e.site),
                "command": list(command) if command else stand_in_command(),
                "env": {
                    "EDGESCALE_SERVICE": e.service,
                    "EDGESCALE_SITE": e.site,
                    "EDGESCALE_WORK_MS": str(svc.work_ms),
                },
                "replicas": int(e.count),
                "cpu_cores": float(svc.cpu_cores),
                "memory_mb": float(svc.memory_mb),
                "node_selector": {SITE_LABEL: e.site},
            }
        )
    return out

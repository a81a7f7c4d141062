"""Desired state: the deployment specification the HTTP API and ``operate apply`` accept."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgescale.errors import ScenarioError
from edgescale.model._errors import issues_from_validation

__all__ = ["Deployment", "HealthProbe", "Strategy", "parse_deployment"]

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthProbe(_Strict):
    """An HTTP GET the agent sends to ``127.0.0.1:$PORT<http_path>``; 2xx/3xx is healthy."""

    http_path: str = "/"
    period_s: float = Field(1.0, gt=0)
    timeout_s: float = Field(1.0, gt=0)
    failure_threshold: int = Field(3, ge=1)


class Strategy(_Strict):
    """Rolling update: replicas down and above the count at a time, and the per-step health gate."""

    max_unavailable: int = Field(1, ge=0)
    max_surge: int = Field(1, ge=0)
    min_ready_s: float = Field(0.0, ge=0)
    progress_deadline_s: float = Field(30.0, gt=0)
    max_restarts: int = Field(2, ge=0)


class Deployment(_Strict):
    """A workload to run: a command (no container runtime), its replicas and their constraints.

    Examples
    --------
    >>> d = parse_deployment({"name": "web", "command": ["sleep", "60"], "replicas": 3})
    >>> d.replicas, d.cpu_cores, len(d.template_hash())
    (3, 0.1, 16)
    """

    name: str = Field(pattern=NAME_PATTERN)
    command: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    replicas: int = Field(1, ge=0)
    cpu_cores: float = Field(0.1, gt=0)
    memory_mb: float = Field(0.0, ge=0)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tiers: list[Literal["device", "edge", "aggregation", "cloud"]] | None = None
    spread: Literal["none", "domain", "region"] = "none"
    autonomy_window_s: float | None = Field(None, ge=0)
    health: HealthProbe | None = None
    strategy: Strategy = Field(default_factory=Strategy)
    restart_backoff_s: float = Field(0.5, gt=0)
    max_backoff_s: float = Field(30.0, gt=0)

    def template(self) -> dict[str, Any]:
        """What a replica runs; a change starts a rollout."""
        return self.model_dump(
            include={
                "command",
                "env",
                "cpu_cores",
                "memory_mb",
                "health",
                "restart_backoff_s",
                "max_backoff_s",
            }
        )

    def template_hash(self) -> str:
        """Short hash of :meth:`template`."""
        text = json.dumps(self.template(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_deployment(doc: Any, *, source: str = "deployment") -> Deployment:
    """Validate a deployment document.

    Raises
    ------
    ScenarioError
        Every problem, with its field path (``strategy.max_surge: must be >= 0 (got -1)``).
    """
    try:
        return Deployment.model_validate(doc)
    except ValidationError as e:
        raise ScenarioError(issues_from_validation(e, doc, Deployment), source) from e

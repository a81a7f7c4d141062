"""Cheaper control-plane stops keep every number: a small failure-heavy run against figures recorded before.

The literal values below were printed by the code of commit a8dabe8 (before the distance-row cache of
``SimClusterView.latencies``, the vectorised ``FailureDetector.suspect_ats`` and ``Nearest`` asked for many
origins at once), running exactly this scenario and call (the default policies: Nearest and a 5-s heartbeat
timeout; phi accrual; the randomised power-of-two balancer); a change that makes stops cheaper must give them again, bit for bit (floats compared with
``==``). A change that is meant to alter the twin's results must say so and record new values.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from edgescale.model.generators import hierarchical
from edgescale.model.io import scenario_from_dict
from edgescale.sim.runner import simulate_scenario

PHI = {"failure_detection": {"name": "phi-accrual", "params": {"threshold": 8, "min_std_s": 0.2}}}
POWER_OF_TWO = {"balancing": {"name": "power-of-two"}}  # randomised: asked source after source, as before


def _doc(policies: dict[str, Any] | None) -> dict[str, Any]:
    """60 edge sites, 4 aggregation, 1 cloud (3,000 devices); edge sites fail every 36 s on average (MTTR 7.2 s),
    links every 30 min (MTTR 10.8 s): about 160 random transitions in 65 s."""
    d = hierarchical(devices=3000, edge_sites=60, aggregation_sites=4, clouds=1, seed=2)
    d["failures"] = {
        "classes": [{"tier": "edge", "mtbf_h": 0.01, "mttr_h": 0.002}],
        "link_mtbf_h": 0.5,
        "link_mttr_h": 0.003,
    }
    if policies is not None:
        d.setdefault("policies", {}).update(policies)
    return d


# (policies, per application (requests, drops, mean ms, p95 ms), events by action)
RECORDED = [
    (
        None,
        {"telemetry": (16528, 1223, 29.81859707281837, 75.96218962837125),
         "backup": (1, 0, 26.088977226812915, 26.088977226812915)},
        {"fail": 77, "recover": 75, "reroute": 44, "suspect": 40, "trust": 35,
         "link_fail": 3, "link_suspect": 3, "link_recover": 3, "link_trust": 3},
    ),
    (
        PHI,
        {"telemetry": (17238, 645, 30.92818789524342, 79.03106208935743),
         "backup": (1, 0, 91.94450152575229, 91.94450152575229)},
        {"fail": 77, "reroute": 77, "recover": 75, "suspect": 63, "trust": 57,
         "link_fail": 3, "link_suspect": 3, "link_recover": 3, "link_trust": 3},
    ),
    (
        POWER_OF_TWO,
        {"telemetry": (16549, 1331, 30.979149413002077, 79.03106208935743),
         "backup": (1, 0, 32.491958310657765, 32.491958310657765)},
        {"fail": 77, "recover": 75, "suspect": 40, "reroute": 44, "trust": 35,
         "link_fail": 3, "link_suspect": 3, "link_recover": 3, "link_trust": 3},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("policies", "apps", "events"), RECORDED, ids=["defaults", "phi-accrual", "power-of-two"])
def test_failure_heavy_run_gives_the_recorded_numbers(
    policies: dict[str, Any] | None, apps: dict[str, tuple[int, int, float, float]], events: dict[str, int]
) -> None:
    r = simulate_scenario(scenario_from_dict(_doc(policies)), duration_s=60, warmup_s=5, seed=4).to_dict()
    assert r["random_failure_transitions"] == 158
    got = {
        a["application"]: (a["requests"], a["drops"], a["latency_ms"]["mean"], a["latency_ms"]["p95"])
        for a in r["applications"]
    }
    assert got == apps
    assert dict(Counter(e["action"] for e in r["events"])) == events

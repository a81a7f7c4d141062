"""Random failures that will make many transitions are announced: each costs control-plane time."""

from __future__ import annotations

import pytest

from edgescale.cli.simulate import _simulation_text
from edgescale.model.io import scenario_from_dict
from edgescale.sim import runner
from edgescale.sim.runner import simulate_scenario
from tests.sim.test_failure_memory import _pair


def test_many_expected_transitions_give_a_warning_and_the_count_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    s = scenario_from_dict(_pair())  # e1: MTBF 1 s, MTTR 0.25 s -> 2 * 200 / 1.25 = 320 transitions expected
    monkeypatch.setattr(runner, "MANY_TRANSITIONS", 300)
    r = simulate_scenario(s, duration_s=200, warmup_s=0, epoch_s=200, seed=5).to_dict()
    (w,) = [w for w in r["warnings"] if w["path"] == "failures"]
    assert w["severity"] == "warning" and w["message"].startswith("about 320 failure and repair transitions")
    assert w["value"] == {"shortest_mtbf_h": pytest.approx(1 / 3600), "its_mttr_h": pytest.approx(0.25 / 3600)}
    # an alternating renewal process: ~320 transitions, standard deviation ~ 12 here
    assert abs(r["random_failure_transitions"] - 320) < 60
    assert "warning: failures: about 320 failure and repair transitions" in _simulation_text(r)
    monkeypatch.setattr(runner, "MANY_TRANSITIONS", 400)
    quiet = simulate_scenario(s, duration_s=200, warmup_s=0, epoch_s=200, seed=5).to_dict()
    assert not [w for w in quiet["warnings"] if w["path"] == "failures"]
    assert quiet["random_failure_transitions"] == r["random_failure_transitions"]  # a warning changes nothing

"""Target-utilization autoscaler: formula, hysteresis, cooldown, bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgescale.errors import ScenarioError
from edgescale.policies import ArrayClusterView, TargetUtilization, make_policy


def view_at(now: float, util: float, replicas: int) -> ArrayClusterView:
    return ArrayClusterView(site_tier=[1], now=now, replicas=[[replicas]], utilization=[[util]])


def test_scales_to_target_like_kubernetes() -> None:
    a = TargetUtilization(target_utilization=0.5, scale_up_at=0.7, scale_down_at=0.3, cooldown_s=0)
    assert a.desired_replicas(view_at(0, 0.9, 4), 0, 4) == math.ceil(4 * 0.9 / 0.5)
    assert a.desired_replicas(view_at(1, 0.1, 8), 0, 8) == math.ceil(8 * 0.1 / 0.5)


def test_utilization_is_replica_weighted_over_up_sites() -> None:
    v = ArrayClusterView(
        site_tier=[1, 1, 1], site_up=[True, True, False], replicas=[[1, 3, 5]], utilization=[[0.2, 0.6, 1.0]]
    )
    assert TargetUtilization().utilization_of(v, 0) == pytest.approx((0.2 + 3 * 0.6) / 4)


def test_hysteresis_prevents_flapping_inside_the_band() -> None:
    """Load oscillating between 0.35 and 0.75 (inside the 0.3-0.8 band) never changes the count;
    the same load with no band (both edges at the target) and no cooldown flaps."""
    banded = TargetUtilization(target_utilization=0.6, scale_up_at=0.8, scale_down_at=0.3, cooldown_s=0)
    bare = TargetUtilization(target_utilization=0.6, scale_up_at=0.6, scale_down_at=0.6, cooldown_s=0)
    n_banded = n_bare = 5
    changes_banded = changes_bare = 0
    for k in range(400):
        offered = 5 * (0.55 + 0.2 * math.sin(k / 3))  # busy cores: utilization at 5 replicas in [0.35, 0.75]
        new = banded.desired_replicas(view_at(k, offered / n_banded, n_banded), 0, n_banded)
        changes_banded += new != n_banded
        n_banded = new
        new = bare.desired_replicas(view_at(k, min(offered / n_bare, 1.0), n_bare), 0, n_bare)
        changes_bare += new != n_bare
        n_bare = new
    assert changes_banded == 0
    assert changes_bare > 50


def test_cooldown_is_respected() -> None:
    a = TargetUtilization(target_utilization=0.5, scale_up_at=0.7, scale_down_at=0.2, cooldown_s=30)
    assert a.desired_replicas(view_at(100.0, 0.95, 2), 0, 2) == 4
    for now in np.arange(100.0, 130.0, 1.0):  # still overloaded, but cooling down
        assert a.desired_replicas(view_at(float(now), 0.95, 4), 0, 4) == 4
    assert a.desired_replicas(view_at(130.0, 0.95, 4), 0, 4) == 8
    assert a.desired_replicas(view_at(140.0, 0.05, 8), 0, 8) == 8  # down also waits
    assert a.desired_replicas(view_at(160.0, 0.05, 8), 0, 8) == 1


def test_bounds_apply_even_while_cooling_down() -> None:
    a = TargetUtilization(min_replicas=2, max_replicas=6, cooldown_s=1000)
    assert a.desired_replicas(view_at(0, 1.0, 4), 0, 4) == 6
    assert a.desired_replicas(view_at(1, 0.5, 1), 0, 1) == 2  # below min: fixed at once
    assert a.desired_replicas(view_at(2, 1.0, 9), 0, 9) == 6


def test_cooldown_is_per_service() -> None:
    a = TargetUtilization(cooldown_s=60)
    v = ArrayClusterView(site_tier=[1], replicas=[[2], [2]], utilization=[[1.0], [1.0]])
    assert a.desired_replicas(v, 0, 2) == 4
    assert a.desired_replicas(v, 1, 2) == 4


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"target_utilization": 0}, "target_utilization"),
        ({"target_utilization": 0.5, "scale_up_at": 0.4}, "scale_up_at"),
        ({"scale_down_at": 0.7}, "scale_down_at"),
        ({"cooldown_s": -1}, "cooldown_s"),
        ({"min_replicas": 3, "max_replicas": 2}, "max_replicas"),
        ({"min_replicas": 1.5}, "min_replicas"),
    ],
    ids=lambda x: str(x),
)
def test_bad_params_name_the_parameter(params: dict[str, float], path: str) -> None:
    with pytest.raises(ScenarioError, match=rf"policies\.autoscaling\.params\.{path}: must"):
        make_policy("autoscaling", "target-utilization", params)

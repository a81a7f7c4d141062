"""The framework side: read-only views, PolicyError wrapping, result checks, repr, feedback hook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from edgescale.errors import InfeasibleError, PolicyError
from edgescale.policies import (
    ArrayClusterView,
    ClusterView,
    Demand,
    DeviceState,
    EverywhereAllowed,
    Failure,
    FixedOffloading,
    FromPlan,
    LeastLoaded,
    LeastLoadedPlacement,
    LoadBalancer,
    Nearest,
    NearestFailover,
    OffloadingPolicy,
    Outcome,
    Placement,
    PlacementPolicy,
    PlanWeights,
    PowerOfTwoChoices,
    TargetUtilization,
    TaskClass,
    ThresholdOffloading,
    estimate_offloading,
)
from edgescale.policies.base import I64


def busy_view() -> ArrayClusterView:
    rng = np.random.default_rng(4)
    n, m = 6, 2
    lat = rng.uniform(1, 20, size=(n, n))
    return ArrayClusterView(
        site_tier=[1, 1, 1, 2, 2, 3],
        latency_ms=(lat + lat.T) / 2 * (1 - np.eye(n)),
        now=12.5,
        site_up=[True, False, True, True, True, True],
        site_load=rng.uniform(0, 1, n),
        site_cpu_cores=[4, 4, 4, 16, 16, 64],
        replicas=rng.integers(0, 3, size=(m, n)),
        queue_len=rng.uniform(0, 9, size=(m, n)),
        utilization=rng.uniform(0, 1, size=(m, n)),
    )


def snapshot(v: ArrayClusterView) -> dict[str, np.ndarray]:
    return {k: np.array(val) for k, val in vars(v).items() if isinstance(val, np.ndarray)}


def test_builtins_never_mutate_the_view() -> None:
    v = busy_view()
    before = snapshot(v)
    assert all(not a.flags.writeable for a in vars(v).values() if isinstance(a, np.ndarray))
    rng = np.random.default_rng(0)
    cand = np.arange(v.n_sites)
    for placer in (
        EverywhereAllowed(),
        LeastLoadedPlacement(),
        FromPlan(replicas=np.ones((2, 6), np.int64)),
        NearestFailover(),
    ):
        placer.place(v, Demand(replicas=[3, 4]))
    for lb in (Nearest(), LeastLoaded(), PowerOfTwoChoices(), PlanWeights()):
        lb.choose(v, 0, 2, cand, rng)
        lb.weights(v, 1, cand, cand)
    TargetUtilization().desired_replicas(v, 0, 3)
    ThresholdOffloading().decide(v, TaskClass(work_ms=30, input_kb=20), DeviceState(access_site=1))
    after = snapshot(v)
    assert before.keys() == after.keys()
    for k in before:
        np.testing.assert_array_equal(before[k], after[k], err_msg=k)


def test_view_is_read_only_and_replace_makes_a_new_one() -> None:
    v = busy_view()
    assert isinstance(v, ClusterView)
    with pytest.raises(AttributeError, match="read-only"):
        v.now = 3.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        v.site_up[0] = False
    w = v.replace(now=20.0, site_up=np.ones(6, bool))
    assert (w.now, bool(w.site_up.all()), v.now) == (20.0, True, 12.5)
    assert v.latency_ms(2, 3) == v.latencies([2], [3])[0, 0]


def test_view_sees_framework_updates_without_copies() -> None:
    queue = np.zeros((1, 3))
    v = ArrayClusterView(site_tier=[1, 1, 1], replicas=[[1, 1, 1]], queue_len=queue)
    queue[0, 0] = 5.0  # the framework owns the writable array
    assert LeastLoaded().choose(v, 0, 0, [0, 1]) == 1


def test_view_checks_shapes() -> None:
    with pytest.raises(ValueError, match=r"replicas must have shape \(1, 3\)"):
        ArrayClusterView(site_tier=[1, 1, 1], replicas=[[1, 1]], queue_len=[[0, 0, 0]])
    with pytest.raises(TypeError, match="unknown array"):
        ArrayClusterView(site_tier=[1], site_power=[1.0])


class Broken(PlacementPolicy):
    def __init__(self, *, divisor: int = 0) -> None:
        self.divisor = divisor

    def _place(self, view: ClusterView, demand: Demand | None) -> Placement:
        return Placement(np.zeros((view.n_services, view.n_sites), np.int64) * (1 // self.divisor))


class Scribbler(PlacementPolicy):
    """Tries to change the view: the read-only arrays stop it."""

    def __init__(self) -> None:
        pass

    def _place(self, view: ClusterView, demand: Demand | None) -> Placement:
        view.replicas[0, 0] = 99
        return Placement(view.replicas)


def test_policy_error_wraps_a_failing_custom_policy() -> None:
    with pytest.raises(PolicyError, match=r"Broken\(divisor=0\) failed at t=12.5") as exc:
        Broken().place(busy_view())
    assert isinstance(exc.value.__cause__, ZeroDivisionError)
    with pytest.raises(PolicyError, match="read-only") as exc:
        Scribbler().place(busy_view())
    assert isinstance(exc.value.__cause__, ValueError)


def test_edgescale_errors_pass_through() -> None:
    class Infeasible(Broken):
        def _place(self, view: ClusterView, demand: Demand | None) -> Placement:
            raise InfeasibleError("no site has 5 cores", constraint="cores")

    with pytest.raises(InfeasibleError):
        Infeasible().place(busy_view())


def test_results_are_checked() -> None:
    class WrongShape(Broken):
        def _place(self, view: ClusterView, demand: Demand | None) -> Placement:
            return Placement(np.zeros((1, 1), np.int64))

    class Stranger(LoadBalancer):
        def _choose(
            self, view: ClusterView, service: int, origin: int, cand: I64, rng: np.random.Generator
        ) -> int:
            return 77

    class Nowhere(OffloadingPolicy):
        def _decide(self, view: ClusterView, task: TaskClass, device: DeviceState) -> str:  # type: ignore[override]
            return "fog"

    v = busy_view()
    with pytest.raises(PolicyError, match=r"must return a Placement of shape \(2, 6\) \(got \(1, 1\)\)"):
        WrongShape().place(v)
    with pytest.raises(PolicyError, match="chose site 77, which is not a candidate"):
        Stranger().choose(v, 0, 0, [0, 2])
    with pytest.raises(PolicyError, match="got 'fog'"):
        Nowhere().decide(v, TaskClass(1.0), DeviceState(0))


def test_default_weights_follow_a_deterministic_choose() -> None:
    class First(LoadBalancer):
        def _choose(
            self, view: ClusterView, service: int, origin: int, cand: I64, rng: np.random.Generator
        ) -> int:
            return int(cand[origin % len(cand)])

    np.testing.assert_array_equal(First().weights(busy_view(), 0, [0, 1], [4, 5]), [[1, 0], [0, 1]])


def test_observe_default_ignores_and_custom_errors_are_wrapped() -> None:
    feedback = ([Outcome(t=1.0, service=0, site=2, latency_ms=5.0)], [Failure(t=1.0, site=1)])
    Nearest().observe(1.0, *feedback)

    class Learner(Nearest):
        def _observe(self, now: float, outcomes: Sequence[Outcome], failures: Sequence[Failure]) -> None:
            raise KeyError(failures[0].site)

    with pytest.raises(PolicyError, match="in observe at t=1"):
        Learner().observe(1.0, *feedback)


def test_repr_shows_the_config() -> None:
    assert repr(TargetUtilization(cooldown_s=30)) == (
        "TargetUtilization(target_utilization=0.6, scale_up_at=0.8, scale_down_at=0.3, cooldown_s=30.0, "
        "min_replicas=1, max_replicas=None)"
    )
    assert (
        repr(FromPlan(replicas=[[1, 2]]))
        == "FromPlan(replicas=array(shape=(1, 2), dtype=int64), failover=True)"
    )
    assert repr(PowerOfTwoChoices()) == "PowerOfTwoChoices(choices=2)"


def test_offloading_threshold_decisions() -> None:
    # edge site 0 (speed 1, half busy), cloud site 1 (speed 2, idle) at 40 ms; 25 kB up, 5 kB down
    v = ArrayClusterView(
        site_tier=[1, 3], latency_ms=[[0, 40], [40, 0]], site_load=[0.5, 0.0], site_cpu_speed=[1, 2]
    )
    task = TaskClass(work_ms=100, input_kb=25, output_kb=5, deadline_ms=500)
    fast = DeviceState(access_site=0, cpu_speed=1.0, compute_w=2.0, tx_w=1.0, rx_w=0.5, idle_w=0.05)
    # device: 100 ms, 0.2 J. edge: 10 + 200 + 0.8 = 210.8 ms, 0.01 + 0.01 + 0.0004 = 0.0204 J.
    # cloud: 10 + (80 + 50) + 0.8 = 140.8 ms, 0.01 + 0.0065 + 0.0004 = 0.0169 J.
    est = {e.target: e for e in estimate_offloading(v, task, fast)}
    assert est["device"].latency_ms == pytest.approx(100.0) and est["device"].energy_j == pytest.approx(0.2)
    assert est["edge"].latency_ms == pytest.approx(210.8) and est["edge"].energy_j == pytest.approx(0.0204)
    assert est["cloud"].latency_ms == pytest.approx(140.8) and est["cloud"].energy_j == pytest.approx(0.0169)
    assert ThresholdOffloading().decide(v, task, fast) == "cloud"  # least energy within 500 ms
    assert ThresholdOffloading(prefer="latency").decide(v, task, fast) == "device"
    assert ThresholdOffloading(max_latency_ms=120).decide(v, task, fast) == "device"  # only one in time
    assert ThresholdOffloading().decide(v, replace(task, deadline_ms=1), fast) == "device"  # none: fastest
    slow = replace(fast, cpu_speed=0.25)  # device now takes 400 ms
    assert ThresholdOffloading().decide(v, replace(task, deadline_ms=150), slow) == "cloud"
    assert ThresholdOffloading().decide(v.replace(site_up=[True, False]), task, slow) == "edge"
    assert FixedOffloading(target="edge").decide(v, task, slow) == "edge"

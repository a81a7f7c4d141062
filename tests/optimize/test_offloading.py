"""Offloading: worked example, MILP against brute force, equilibrium and potential properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgescale.errors import InfeasibleError, ModelAssumptionError
from edgescale.optimize.offloading import (
    OffloadProblem,
    offload_best_response,
    offload_optimal,
    offload_resolve,
    reallocation_cost,
    shannon_rate_bps,
)


def random_problem(
    seed: int, n: int, k: int, *, deadlines: bool = True, energy: float = 0.0
) -> OffloadProblem:
    rng = np.random.default_rng(seed)
    cycles = rng.uniform(2e8, 2e9, n)
    rtt = np.concatenate([rng.uniform(2, 30, (n, k)), rng.uniform(60, 150, (n, 1))], axis=1)
    deadline = rng.uniform(400, 3000, n) if deadlines else np.inf
    return OffloadProblem.build(
        cycles=cycles,
        device_hz=rng.uniform(0.5e9, 2e9, n),
        rtt_ms=rtt,
        edge_hz=rng.uniform(2e9, 8e9, k),
        edge_slots=rng.integers(1, n + 1, k),
        input_bits=rng.uniform(0, 4e6, n),
        output_bits=rng.uniform(0, 1e6, n),
        deadline_ms=deadline,
        kappa=1e-27,
        cloud_hz=rng.uniform(3e9, 10e9),
        energy_weight=energy,
        latency_weight=1.0,
        edge_core_hz=np.where(rng.random(k) < 0.5, np.inf, rng.uniform(0.5e9, 3e9, k)),
    )


def brute_force(p: OffloadProblem) -> tuple[float, tuple[int, ...] | None]:
    best, arg = math.inf, None
    for combo in itertools.product(range(p.cloud + 1), repeat=p.n_devices):
        c = np.array(combo)
        if not p.allowed[np.arange(p.n_devices), c].all() or (p.counts(c) > p.edge_slots).any():
            continue
        lat, _, cost = p.evaluate(c)
        if (lat > p.deadline_ms * (1 + 1e-9)).any():
            continue
        if cost.sum() < best:
            best, arg = float(cost.sum()), combo
    return best, arg


def test_worked_example_energy_and_latency():
    # Mao et al. 2017: local t = c/f, E = kappa c f^2; offloading: upload at the Shannon rate
    # B log2(1 + SNR), transmit power x upload time, idle power while waiting, receive power x download.
    rate = float(shannon_rate_bps(1e6, 10 * math.log10(3.0)))  # 1 MHz, SNR 3 -> 2 Mbit/s
    assert rate == pytest.approx(2e6)
    p = OffloadProblem.build(
        cycles=5e8,
        device_hz=1e9,
        kappa=1e-27,
        input_bits=4e5,
        output_bits=1e5,
        uplink_bps=rate,
        downlink_bps=50e6,
        tx_w=1.0,
        rx_w=0.5,
        idle_w=0.05,
        rtt_ms=[[20.0, 80.0]],
        edge_hz=[10e9],
        cloud_hz=5e9,
        energy_weight=1000.0,
    )
    # local: 500 ms, 1e-27 * 5e8 * 1e18 = 0.5 J
    lat, en, cost = p.evaluate([0])
    assert (lat[0], en[0]) == pytest.approx((500.0, 0.5))
    assert cost[0] == pytest.approx(500.0 + 1000 * 0.5)
    # edge: 200 ms upload (0.2 J) + 20 ms rtt + 50 ms run + 2 ms download (0.001 J) + idle 0.05 W * 70 ms
    lat, en, cost = p.evaluate([1])
    assert (lat[0], en[0]) == pytest.approx((272.0, 0.2 + 0.001 + 0.0035))
    # cloud: 200 + 80 + 100 + 2 ms; idle over 180 ms
    lat, en, _ = p.evaluate([2])
    assert (lat[0], en[0]) == pytest.approx((382.0, 0.2 + 0.001 + 0.05 * 0.18))
    r = offload_optimal(p)
    assert r.choice.tolist() == [1] and r.status == "optimal"
    assert r.objective == pytest.approx(272.0 + 1000 * 0.2045)


def test_processor_sharing_congestion():
    p = OffloadProblem.build(cycles=[1e9] * 3, device_hz=1e8, rtt_ms=[[0.0, 1e6]] * 3, edge_hz=[3e9])
    lat, en, _ = p.evaluate([1, 1, 1])
    assert lat.tolist() == pytest.approx([1000.0] * 3)  # 3 tasks share 3 GHz: 1 s each
    assert en.tolist() == pytest.approx([0.05] * 3)


@pytest.mark.parametrize("seed", range(12))
def test_milp_equals_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    n, k = int(rng.integers(2, 6)), int(rng.integers(1, 3))
    p = random_problem(seed, n, k, energy=float(rng.choice([0.0, 200.0])))
    best, _ = brute_force(p)
    if not math.isfinite(best):
        with pytest.raises(InfeasibleError, match=r"deadline|edge_slots"):
            offload_optimal(p)
        return
    r = offload_optimal(p, time_limit_s=30)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(best, rel=1e-7)
    assert r.bound <= r.objective + 1e-9 and r.gap <= 1e-6
    assert r.deadline_violations == 0
    assert (p.counts(r.choice) <= p.edge_slots).all()


@given(seed=st.integers(0, 10_000), n=st.integers(1, 40), k=st.integers(1, 5))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_best_response_reaches_equilibrium(seed, n, k):
    p = random_problem(seed, n, k, deadlines=False, energy=100.0)
    r = offload_best_response(p, seed=seed)
    assert r.equilibrium
    counts = p.counts(r.choice)
    assert (counts <= p.edge_slots).all()
    # independent check: no device lowers its own cost by moving alone to an option with room
    for i in range(n):
        for j in range(p.cloud + 1):
            if (
                j == r.choice[i]
                or not p.allowed[i, j]
                or (1 <= j <= k and counts[j - 1] >= p.edge_slots[j - 1])
            ):
                continue
            c = r.choice.copy()
            c[i] = j
            assert p.evaluate(c)[2][i] >= r.cost[i] * (1 - 1e-9)
    assert r.objective >= r.bound - 1e-9


@given(seed=st.integers(0, 10_000), n=st.integers(1, 20), k=st.integers(1, 4))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_potential_changes_by_weighted_cost(seed, n, k):
    p = random_problem(seed, n, k, deadlines=False, energy=50.0)
    rng = np.random.default_rng(seed)
    c = rng.integers(0, p.cloud + 1, n)
    i, j = int(rng.integers(n)), int(rng.integers(p.cloud + 1))
    d = c.copy()
    d[i] = j
    delta_cost = p.evaluate(d)[2][i] - p.evaluate(c)[2][i]
    delta_phi = p.potential(d) - p.potential(c)
    assert delta_phi * p.congestion_weight[i] == pytest.approx(delta_cost, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_price_of_anarchy_at_least_one(seed):
    p = random_problem(seed, 6, 2, deadlines=False)
    opt = offload_optimal(p)
    br = offload_best_response(p, optimum=opt, seed=seed)
    assert opt.status == "optimal"
    assert br.price_of_anarchy is not None and br.price_of_anarchy >= 1 - 1e-9
    assert br.bound == pytest.approx(opt.bound) or br.bound >= opt.bound
    assert br.objective >= opt.objective * (1 - 1e-9)


def test_price_of_anarchy_example():
    p = OffloadProblem.build(
        cycles=[1e9, 1e9], device_hz=0.5e9, rtt_ms=[[10, 100]] * 2, edge_hz=[2e9], cloud_hz=1e9
    )
    opt = offload_optimal(p)
    br = offload_best_response(p, optimum=opt)
    assert br.objective == pytest.approx(2020.0) and opt.objective == pytest.approx(1610.0)
    assert br.price_of_anarchy == pytest.approx(2020 / 1610)
    assert br.status == "heuristic" and br.gap == pytest.approx((2020 - 1610) / 2020)


def test_reallocation_trades_moving_against_staying():
    # the device moved: edge 1 is now closer (5 ms) than edge 0 (40 ms) where its task runs
    p = OffloadProblem.build(cycles=1e9, device_hz=0.5e9, rtt_ms=[[40.0, 5.0, 200.0]], edge_hz=[5e9, 5e9])
    small = reallocation_cost(p, [1], 1e6, site_bandwidth_bps=1e9, site_latency_ms=2.0)
    assert small.latency_ms[0, 2] == pytest.approx(1.0 + 2.0)
    r = offload_resolve(p, [1], small)
    assert r.choice.tolist() == [2] and r.moved == 1  # 3 ms to move, 35 ms saved
    big = reallocation_cost(p, [1], 1e9, site_bandwidth_bps=1e9, site_latency_ms=2.0)
    r = offload_resolve(p, [1], big)
    assert r.choice.tolist() == [1] and r.moved == 0  # 1002 ms to move: stay
    r = offload_resolve(p, [1], big, method="best_response")
    assert r.choice.tolist() == [1] and r.equilibrium


def test_resolve_without_state_is_a_fresh_solve():
    p = random_problem(3, 5, 2, deadlines=False)
    free = reallocation_cost(p, np.zeros(5, int), 0.0)
    r = offload_resolve(p, np.zeros(5, int), free)
    # from the device the upload of zero state still takes rtt/2
    assert r.objective >= offload_optimal(p).objective - 1e-9
    none = reallocation_cost(p, -np.ones(5, int), 1e9)
    assert offload_resolve(p, -np.ones(5, int), none).objective == pytest.approx(offload_optimal(p).objective)


def test_deadline_infeasible_says_by_how_much():
    p = OffloadProblem.build(
        cycles=1e9, device_hz=1e9, rtt_ms=[[10.0, 50.0]], edge_hz=[4e9], deadline_ms=100, cloud_hz=1e9
    )
    with pytest.raises(InfeasibleError, match=r"deadline: device 0 needs 260 ms.*by 160 ms") as e:
        offload_optimal(p)
    assert e.value.constraint == "deadline" and e.value.excess == pytest.approx(160.0)


def test_slots_infeasible():
    p = OffloadProblem.build(
        cycles=[1e9] * 3,
        device_hz=1e8,
        rtt_ms=[[1.0, 1e5]] * 3,
        edge_hz=[1e10],
        edge_slots=[2],
        deadline_ms=1000,
    )
    with pytest.raises(InfeasibleError, match=r"edge_slots: 3 devices .* at most 2 of them \(short by 1\)"):
        offload_best_response(p)


def test_congestion_deadline_infeasible():
    # alone each meets 300 ms at the edge (10 + 250), together they need 510 ms
    p = OffloadProblem.build(
        cycles=[1e9] * 2, device_hz=1e8, rtt_ms=[[10.0, 1e5]] * 2, edge_hz=[4e9], deadline_ms=300
    )
    with pytest.raises(InfeasibleError, match="deadline: no choice"):
        offload_optimal(p)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"cycles": [1e9, -1.0]}, r"cycles\[1\] must be finite and > 0"),
        ({"edge_hz": [0.0]}, r"edge_hz\[0\] must be finite and > 0"),
        ({"rtt_ms": [[1.0, 2.0, 3.0]]}, r"rtt_ms must broadcast to shape \(2, 2\)"),
        ({"latency_weight": 0.0}, r"latency_weight\[0\] must be finite and > 0"),
    ],
    ids=["cycles", "edge_hz", "rtt_shape", "latency_weight"],
)
def test_bad_input(kw, match):
    base = {"cycles": [1e9, 1e9], "device_hz": 1e9, "rtt_ms": [[1.0, 2.0]] * 2, "edge_hz": [1e9]}
    base.update(kw)
    with pytest.raises(ModelAssumptionError, match=match):
        OffloadProblem.build(**base)


def test_plan_entries_and_dict():
    p = OffloadProblem.build(
        cycles=[1e9, 1e9], device_hz=0.5e9, rtt_ms=[[10, 100]] * 2, edge_hz=[2e9], cloud_hz=1e9
    )
    r = offload_optimal(p)
    (entry,) = r.plan_entries(p.n_edges, [0, 0], ["phones"])
    assert (entry.device, entry.edge, entry.cloud) == (0.0, 0.5, 0.5)
    d = r.to_dict(per_device=True)
    assert d["status"] == "optimal" and d["objective"] == pytest.approx(1610.0) and len(d["choice"]) == 2


OFFLOAD_SCENARIO = {
    "schema_version": 1,
    "name": "offload-cell",
    "sites": [
        {"id": "e1", "tier": "edge", "cpu_cores": 4, "location": {"lat": 0.0, "lon": 0.0}},
        {
            "id": "c1",
            "tier": "cloud",
            "cpu_cores": 64,
            "cpu_speed": 2.0,
            "location": {"lat": 0.0, "lon": 1.0},
        },
    ],
    "links": [{"src": "e1", "dst": "c1", "latency_ms": 20.0}],
    "services": [{"id": "detect", "work_ms": 10}, {"id": "track", "work_ms": 20}],
    "applications": [
        {
            "id": "vision",
            "stages": [{"service": "detect", "request_kb": 100}, {"service": "track", "request_kb": 5}],
            "response_kb": 10,
            "slo": {"latency_ms": 500},
        }
    ],
    "device_groups": [
        {
            "id": "cams",
            "count": 3,
            "application": "vision",
            "placement": {"around": {"sites": ["e1"]}},
            "arrival": {"process": "poisson", "rate_per_s": 1.0},
            "access": {"latency_ms": 1.0},
            "device": {
                "cpu_speed": 0.5,
                "power": {"idle_w": 0.1, "peak_w": 3.0},
                "radio": {"uplink_mbps": 10.0},
            },
        }
    ],
}


def _scenario_problem(**kw):
    from edgescale.model.arrays import compile_scenario
    from edgescale.model.io import scenario_from_dict
    from edgescale.optimize.offloading import offload_problem_from_scenario

    sc = scenario_from_dict(OFFLOAD_SCENARIO)
    arrays = compile_scenario(sc, devices=False)
    return sc, arrays, offload_problem_from_scenario(sc, arrays, **kw)


def test_scenario_problem_agrees_with_runtime_policy():
    from edgescale.policies import ArrayClusterView, DeviceState, TaskClass
    from edgescale.policies.offloading import estimate_offloading

    _, _, so = _scenario_problem(energy_weight=1.0)
    p = so.problem
    assert p.n_devices == 3 and p.n_edges == 1 and so.scale == 1.0
    view = ArrayClusterView(site_tier=[1, 3], latency_ms=[[0, 20], [20, 0]], site_cpu_speed=[1.0, 2.0])
    task = TaskClass(work_ms=30.0, input_kb=100.0, output_kb=10.0, deadline_ms=500.0)
    dev = DeviceState(access_site=0, cpu_speed=0.5, compute_w=3.0, uplink_mbps=10.0, access_latency_ms=1.0)
    est = {e.target: e for e in estimate_offloading(view, task, dev)}
    for option, target in ((0, "device"), (1, "edge"), (2, "cloud")):
        lat, en, _ = p.evaluate([option, 0, 0])  # device 0 alone at its option
        assert lat[0] == pytest.approx(est[target].latency_ms, rel=1e-12)
        assert en[0] == pytest.approx(est[target].energy_j, rel=1e-12)
    # hand values: local 30 / 0.5 = 60 ms at 3 W; edge 80 ms up + 2 ms + 30 ms + 1.6 ms down
    assert p.evaluate([0, 0, 0])[0][0] == pytest.approx(60.0)
    assert p.evaluate([1, 0, 0])[0][0] == pytest.approx(113.6)
    # two tasks still get one core each of the 4; five would share them
    assert p.evaluate([1, 1, 1])[0][0] == pytest.approx(113.6)


def test_scenario_problem_scales_devices():
    _, _, so = _scenario_problem(max_devices=1)
    assert so.problem.n_devices == 1 and so.scale == pytest.approx(1 / 3)
    assert so.problem.edge_hz[0] == pytest.approx(4e9 / 3)


def test_cli_offload_writes_plan(tmp_path):
    import json

    import typer
    from typer.testing import CliRunner

    from edgescale.cli import optimize_extra
    from edgescale.model.io import write_atomic
    from edgescale.model.plan import load_plan

    app = typer.Typer()
    app.callback()(lambda: None)
    optimize_extra.register(app)
    scen = tmp_path / "s.json"
    write_atomic(scen, json.dumps(OFFLOAD_SCENARIO))
    out = tmp_path / "plan.json"
    r = CliRunner().invoke(app, ["offload", str(scen), "--method", "milp", "-o", str(out), "-f", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["status"] == "optimal"
    (entry,) = load_plan(out).offload
    assert entry.group == "cams" and entry.device + entry.edge + entry.cloud == pytest.approx(1.0)
    assert load_plan(out).created_by == "offload:milp (on default)"
    out2 = tmp_path / "plan2.json"
    r = CliRunner().invoke(app, ["offload", str(scen), "--plan", str(out), "-o", str(out2)])
    assert r.exit_code == 0, r.output
    assert load_plan(out2).created_by == "offload:best-response (on offload:milp (on default))"
    bad = dict(
        OFFLOAD_SCENARIO, applications=[dict(OFFLOAD_SCENARIO["applications"][0], slo={"latency_ms": 10})]
    )
    write_atomic(scen, json.dumps(bad))
    r = CliRunner().invoke(app, ["offload", str(scen)])
    assert r.exit_code == 1 and "InfeasibleError: deadline" in r.output


@given(seed=st.integers(0, 10_000), n=st.integers(1, 5), k=st.integers(1, 2))
@settings(max_examples=30, deadline=None, derandomize=True)
def test_lower_bound_is_below_the_optimum(seed, n, k):
    p = random_problem(seed, n, k, deadlines=False, energy=float(seed % 3) * 100.0)
    best, arg = brute_force(p)
    alone = float(
        np.where(p.allowed, p.alone_latency_ms * p.latency_weight[:, None], np.inf).min(axis=1).sum()
    )
    assert p.lower_bound() <= best * (1 + 1e-9)
    assert p.lower_bound(np.array(arg)) <= best * (1 + 1e-9)
    if p.energy_weight[0] == 0:
        assert p.lower_bound() >= alone * (1 - 1e-9)  # at least every device alone at its best option


def test_equilibrium_over_deadline_is_not_called_optimal():
    # alone each meets 300 ms at the edge (260 ms); running locally (290 ms) costs 11.9 J. The game
    # puts both at the edge (510 ms each, over the deadline); the MILP keeps one on its device.
    p = OffloadProblem.build(
        cycles=[1e9] * 2,
        device_hz=1e9 / 0.29,
        rtt_ms=[[10.0, 1e4]] * 2,
        edge_hz=[4e9],
        deadline_ms=300,
        energy_weight=1000.0,
    )
    opt = offload_optimal(p)
    assert sorted(opt.choice.tolist()) == [0, 1] and opt.status == "optimal"
    br = offload_best_response(p, optimum=opt)
    assert br.choice.tolist() == [1, 1] and br.deadline_violations == 2
    assert br.objective < opt.objective  # cheaper, but not feasible for the deadlines
    assert br.status == "heuristic" and br.bound <= br.objective


def test_slot_conflict_is_solved_not_declared_infeasible():
    # device 0 runs locally in 1000 ms or at the edge; device 1 (0.1 GHz: 10 s locally, no cloud)
    # meets its 2 s deadline only at the edge, which has one slot: device 0 must stay local
    p = OffloadProblem.build(
        cycles=[1e9, 1e9],
        device_hz=[1e9, 1e8],
        rtt_ms=[[10, np.inf], [10, np.inf]],
        edge_hz=[2e9],
        edge_slots=[1],
        deadline_ms=[2000, 2000],
    )
    r = offload_optimal(p)
    assert r.choice.tolist() == [0, 1] and r.objective == pytest.approx(1510.0) and r.status == "optimal"
    for seed in range(6):
        br = offload_best_response(p, seed=seed)
        assert br.choice.tolist() == [0, 1]


def test_slots_error_when_the_edge_only_devices_do_not_fit():
    # both devices can run only at the single one-slot edge site
    p = OffloadProblem.build(
        cycles=[1e9, 1e9],
        device_hz=1e8,
        rtt_ms=[[10, np.inf]] * 2,
        edge_hz=[2e9],
        edge_slots=[1],
        deadline_ms=2000,
    )
    with pytest.raises(InfeasibleError, match=r"2 devices .* at most 1 of them \(short by 1\)") as e:
        offload_optimal(p)
    assert e.value.constraint == "edge_slots" and e.value.excess == 1.0


def slot_tight_problem(seed: int) -> OffloadProblem:
    """Slow devices, some without a cloud path, and 0-2 slots per edge site: slot conflicts."""
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(2, 6)), int(rng.integers(1, 3))
    rtt = rng.uniform(5, 40, (n, k + 1))
    rtt[rng.random((n, k + 1)) < 0.3] = np.inf
    return OffloadProblem.build(
        cycles=rng.uniform(0.5e9, 1.5e9, n),
        device_hz=rng.choice([1e8, 1.2e9], n),
        rtt_ms=rtt,
        edge_hz=rng.uniform(1e9, 4e9, k),
        edge_slots=rng.integers(0, 3, k),
        deadline_ms=rng.choice([1500.0, 2500.0], n),
        cloud_hz=2e9,
    )


@pytest.mark.parametrize("seed", range(40))
def test_milp_equals_brute_force_slot_tight(seed):
    p = slot_tight_problem(seed)
    if not p.allowed.any(axis=1).all():
        return  # a device with no option at all: covered by check_hostable's own test
    best, _ = brute_force(p)
    if not math.isfinite(best):
        with pytest.raises(InfeasibleError):
            offload_optimal(p)
        return
    r = offload_optimal(p, time_limit_s=30)
    assert r.status == "optimal" and r.objective == pytest.approx(best, rel=1e-7)
    # best response finds a slot-feasible choice whenever the slots allow one
    br = offload_best_response(p, seed=seed)
    assert (p.counts(br.choice) <= p.edge_slots).all()
    assert p.allowed[np.arange(p.n_devices), br.choice].all()


def test_zero_energy_weight_with_unreachable_option_has_no_nan():
    p = OffloadProblem.build(cycles=[1e9], device_hz=1e9, rtt_ms=[[10, np.inf]], edge_hz=[2e9])
    assert np.isposinf(p.fixed_cost[0, 2]) and np.isfinite(p.fixed_cost[0, :2]).all()


def test_cli_offload_milp_too_large_fails_before_building():
    """Melbourne: 2448 devices x 127 edge sites would need ~760 M columns; refused up front."""
    import json
    import time
    from pathlib import Path

    import typer
    from typer.testing import CliRunner

    from edgescale.cli import optimize_extra

    scen = Path(__file__).resolve().parents[2] / "examples" / "melbourne-metro.yaml"
    app = typer.Typer()
    app.callback()(lambda: None)
    optimize_extra.register(app)
    t0 = time.perf_counter()
    r = CliRunner().invoke(app, ["offload", str(scen), "--method", "milp", "-f", "json"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.output)
    assert out["error"] == "ModelAssumptionError"
    assert "exact model would have 761,700,223 columns (limit 2,000,000)" in out["message"]
    assert "--method best-response" in out["message"]
    assert time.perf_counter() - t0 < 20.0


def test_milp_column_count_matches_the_model(monkeypatch):
    from edgescale.optimize import _offload_milp

    seen = []
    real = _offload_milp.solve_milp

    def spy(c, *args, **kw):
        seen.append(len(c))
        return real(c, *args, **kw)

    monkeypatch.setattr(_offload_milp, "solve_milp", spy)
    p = random_problem(3, 7, 3)
    offload_optimal(p, start=np.zeros(7, np.int64))
    assert seen == [_offload_milp.milp_columns(p)]


def _factory(camera_access=None, radio=None):
    from pathlib import Path

    import yaml

    from edgescale.model.arrays import compile_scenario
    from edgescale.model.io import scenario_from_dict
    from edgescale.optimize.offloading import offload_problem_from_scenario

    ex = Path(__file__).resolve().parents[2] / "examples"
    doc = yaml.safe_load((ex / "factory-cell.yaml").read_text())
    cams = doc["device_groups"][0]
    assert cams["id"] == "cameras"
    if camera_access is not None:
        cams["access"] = camera_access
    if radio is not None:
        cams["device"] = {"radio": radio}
    sc = scenario_from_dict(doc, base_dir=ex)
    arrays = compile_scenario(sc, devices=False)
    so = offload_problem_from_scenario(sc, arrays)
    return so, [arrays.group_ids[g] for g in so.device_group]


def test_factory_cell_offloads_over_its_wired_access():
    so, group = _factory()
    p = so.problem
    cams = np.array([g == "cameras" for g in group])
    plcs = np.array([g == "plcs" for g in group])
    # cameras: wired 1000 Mbit/s; PLCs: wired, no bandwidth declared (unlimited, as compiled)
    assert (p.uplink_bps[cams] == 1000e6).all() and (p.downlink_bps[cams] == 1000e6).all()
    assert np.isposinf(p.uplink_bps[plcs]).all()
    r = offload_best_response(p)
    assert r.deadline_violations == 0 and r.shares(p.n_edges)["edge"] > 0
    # 200 kB camera frames: 1.6 ms at 1000 Mbit/s, 16 ms at 100 Mbit/s, 80 ms on a 20 Mbit/s radio
    so100, _ = _factory({"tier": "edge", "latency_ms": 0.5, "bandwidth_mbps": 100, "medium": "wired"})
    up_ms = 1e3 * p.input_bits[cams] / p.uplink_bps[cams]
    up100_ms = 1e3 * so100.problem.input_bits[cams] / so100.problem.uplink_bps[cams]
    assert (so100.problem.uplink_bps[cams] == 100e6).all()
    assert up100_ms == pytest.approx(10 * up_ms)
    d = so100.problem.alone_latency_ms[cams] - p.alone_latency_ms[cams]
    down_extra = 1e3 * p.output_bits[cams] * (1 / 100e6 - 1 / 1000e6)
    assert d[:, 1:] == pytest.approx(
        np.broadcast_to((up100_ms - up_ms + down_extra)[:, None], d[:, 1:].shape)
    )
    assert d[:, 0] == pytest.approx(0.0)  # local execution does not use the network


def test_wireless_access_is_the_radio_capped_by_the_access_bandwidth():
    acc = {"tier": "edge", "latency_ms": 0.5, "bandwidth_mbps": 5, "medium": "wireless"}
    so, group = _factory(acc, {"uplink_mbps": 20, "downlink_mbps": 3})
    cams = np.array([g == "cameras" for g in group])
    assert (so.problem.uplink_bps[cams] == 5e6).all() and (so.problem.downlink_bps[cams] == 3e6).all()
    so, _ = _factory(dict(acc, bandwidth_mbps=None))
    assert (so.problem.uplink_bps[cams] == 20e6).all()  # the default radio

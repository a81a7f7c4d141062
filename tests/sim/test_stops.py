"""What makes a control-plane stop cheap keeps its numbers: a light metrics read, cached detector deadlines."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from edgescale.policies.heartbeat_timeout import HeartbeatTimeout
from edgescale.sim.control import _Deadlines
from edgescale.sim.histogram import LogHistogram
from edgescale.sim.kernel import init_state, make_model, read_metrics, run_until


def test_light_read_equals_the_full_read_but_for_the_pool_scan() -> None:
    # M/M/1 at rho = 0.9 stopped mid-run: requests are inside, so the pool scan finds open ones
    model = make_model(servers=[1], rate_per_s=[0.9], route_ptr=[0, 1], stage_station=[0],
                       stage_work_mean_s=[1.0])  # fmt: skip
    state = init_state(model, seed=4)
    run_until(model, state, 500.0)
    full, light = read_metrics(state), read_metrics(state, open_requests=False)
    assert int(full.unfinished.sum()) > 0 and float(full.station_residence_open_s.sum()) > 0
    assert int(light.unfinished.sum()) == 0 and float(light.station_residence_open_s.sum()) == 0.0
    for f in fields(full):
        if f.name in ("unfinished", "station_residence_open_s"):
            continue
        x, y = getattr(full, f.name), getattr(light, f.name)
        if f.name == "latency":
            assert all(isinstance(h, LogHistogram) and h.count == g.count and h.sum == g.sum
                       for h, g in zip(x, y, strict=True))  # fmt: skip
        else:
            assert np.array_equal(x, y), f.name


def test_deadlines_are_asked_again_only_after_heartbeats() -> None:
    det = HeartbeatTimeout(timeout_s=3.0)
    det.heartbeats(np.array([0, 2]), np.array([1.0, 4.0]))
    calls: list[list[int]] = []
    asked = det._suspect_ats

    def counting(nodes: np.ndarray) -> np.ndarray:
        calls.append(nodes.tolist())
        return asked(nodes)

    det._suspect_ats = counting  # type: ignore[method-assign]
    dl = _Deadlines(det, np.array([0, 1, 2], np.int64))
    assert dl.at().tolist() == [4.0, float("inf"), 7.0]
    dl.at()
    assert calls == [[0, 1, 2]]  # one vectorised call; the second stop compared times without asking
    det.heartbeat(0, 5.0)
    dl.stale()
    assert dl.at().tolist() == [8.0, float("inf"), 7.0] and len(calls) == 2


def test_in_flight_requests_keep_their_stage_when_routes_change_length() -> None:
    """route_ptr changes but keeps its length (source 0 loses a stage, source 1 gains one): requests in flight
    are remapped from the OLD pointers (the seen array is updated in place by the diff)."""
    from dataclasses import replace

    from edgescale.sim import _kernel_core as core
    from edgescale.sim._kernel_sync import _load_model

    model = make_model(servers=[1, 1, 1], rate_per_s=[0.5, 2.0], route_ptr=[0, 2, 3], stage_station=[0, 1, 2],
                       stage_work_mean_s=[0.1, 0.1, 5.0])  # fmt: skip
    state = init_state(model, seed=2)
    run_until(model, state, 30.0)  # source 1's requests pile up at its only stage (2), rho = 10
    rw = state.req.view(np.int32)
    live = (rw[:, core.R_STATE] & core.FL_LIVE) != 0
    owner = rw[live, core.R_SRC]
    before = rw[live, core.R_G].copy()
    assert int((owner == 1).sum()) > 10 and set(before[owner == 1].tolist()) == {2}
    new = replace(model, route_ptr=np.array([0, 1, 3], np.int64))
    _load_model(new, state)
    after = rw[live, core.R_G]
    old_ptr, new_ptr = np.array([0, 2, 3]), np.array([0, 1, 3])
    np.testing.assert_array_equal(after, new_ptr[owner] + before - old_ptr[owner])
    assert set(after[owner == 1].tolist()) == {1}  # still at its first stage

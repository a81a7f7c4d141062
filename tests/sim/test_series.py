"""Time series in bounded memory: rows merge pairwise, totals stay exact, results do not grow with duration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgescale.errors import SimulationError
from edgescale.model.io import scenario_from_dict
from edgescale.sim.runner import _Stops, simulate_scenario
from edgescale.sim.series import DEFAULT_MAX_ROWS, BoundedSeries
from tests.sim.test_failures import _two_edges


def test_series_merges_pairs_and_keeps_totals() -> None:
    s = BoundedSeries(max_rows=8)
    for k in range(1, 101):
        s.add(float(k), np.array([1.0, float(k)]), extra=k)
    rows = s.rows()
    # full at 8 stops (4 rows of 2 left), 16 (4 of 4), 32 (4 of 8), 64 (4 of 16); then 2 rows of 16 and 4 stops
    assert s.stops_per_row == 16
    assert len(rows) <= 8 + 1
    assert sum(v[0] for _, v, _ in rows) == 100  # every stop is in exactly one row
    assert sum(v[1] for _, v, _ in rows) == 5050
    assert [t for t, _, _ in rows] == sorted(t for t, _, _ in rows)
    assert rows[-1][0] == 100.0 and rows[-1][2] == 100  # the partial bucket ends at the last stop
    full = [v[0] for _, v, _ in rows[:-1]]
    assert set(full) == {16.0}  # equal buckets of 16 stops
    with pytest.raises(SimulationError, match="even number"):
        BoundedSeries(max_rows=3)


def test_stops_are_generated_lazily_and_merged() -> None:
    st = _Stops(10.0, 35.0, [5.0, 20.0, 35.0, 0.0, 40.0])
    out = []
    while not st.done:
        out.append(st.peek())
        st.pop()
    assert out == [5.0, 10.0, 20.0, 30.0, 35.0]  # 0 and beyond the horizon dropped, 20 once


def test_results_do_not_grow_with_duration() -> None:
    """550 and 2,200 control stops give results of the same size: 275 rows each (256 merged rows, of 2 and 8
    stops, plus 19 more), at most DEFAULT_MAX_ROWS rows per series whatever the duration,
    and the epoch rows still add up to every arrival of the window."""
    sizes = []
    for duration in (550.0, 2_200.0):
        doc = _two_edges()
        doc["device_groups"][0]["arrival"]["rate_per_s"] = 0.1
        r = simulate_scenario(scenario_from_dict(doc), duration_s=duration, warmup_s=0, epoch_s=1.0,
                              seed=1).to_dict()  # fmt: skip
        rows = r["epochs"]["rows"]
        assert len(rows) == 275 <= DEFAULT_MAX_ROWS
        assert len(r["utilization"]["t_s"]) == len(rows)
        assert sum(row["arrivals"][0] for row in rows) == r["applications"][0]["arrivals"]
        assert rows[-1]["t_s"] == duration
        util = np.array(r["utilization"]["by_tier"]["edge"])
        assert util.mean() == pytest.approx(1.0 * 0.01 / 4 / 2, rel=0.1)  # 1 req/s x 10 ms, 4 cores, 2 sites
        sizes.append(len(json.dumps(r["epochs"])) + len(json.dumps(r["utilization"])))
    assert sizes[1] < 1.2 * sizes[0]  # same rows; only the numbers are longer (4x the duration)

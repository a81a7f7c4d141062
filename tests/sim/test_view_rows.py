"""The twin's cluster view keeps Dijkstra distance rows: the same latencies as the path walk, bit for bit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from edgescale.analysis._paths import PathMetrics
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.generators import hierarchical
from edgescale.model.io import scenario_from_dict
from edgescale.sim.control import SimClusterView


@pytest.fixture(scope="module")
def arrays() -> SystemArrays:
    """65 sites (60 edge, 4 aggregation, 1 cloud) over generated links: paths of several hops."""
    doc = hierarchical(devices=600, edge_sites=60, aggregation_sites=4, clouds=1, seed=2)
    return compile_scenario(scenario_from_dict(doc), devices=False)


def _view(a: SystemArrays, paths: PathMetrics) -> SimClusterView:
    return SimClusterView(a, paths, np.ones((len(a.service_ids), a.n_sites), np.int64))


def _pairs(paths: PathMetrics, src: list[int], dst: list[int]) -> np.ndarray:
    s, d = np.asarray(src, np.int64), np.asarray(dst, np.int64)
    lat, _, _ = paths.pairs(np.repeat(s, len(d)), np.tile(d, len(s)))
    return lat.reshape(len(s), len(d))


def test_latencies_equal_the_path_walk_bit_for_bit(arrays: SystemArrays) -> None:
    paths = PathMetrics(arrays)
    v = _view(arrays, paths)
    every = list(range(arrays.n_sites))
    for src, dst in [
        ([7], every),  # one origin, every site: the balancer's question
        ([7], [3, 7, 64, 3]),  # itself (0) and repeats
        ([1, 2, 3, 50, 60], [0, 64]),  # fewer targets: the walk runs Dijkstra from the targets
        ([5, 9], [9, 5, 30]),
        ([4, 4], [4]),  # nothing to search
    ]:
        got = v.latencies(src, dst)
        assert got.shape == (len(src), len(dst))
        assert np.array_equal(got, _pairs(paths, src, dst)), (src, dst)
    assert v.latency_ms(64, 0) == float(_pairs(paths, [64], [0])[0, 0]) > 0


def test_rows_are_kept_until_the_paths_change(arrays: SystemArrays) -> None:
    v = _view(arrays, PathMetrics(arrays))
    before = v.latencies([7], [0, 64])
    assert list(v._rows) == [7]
    v.latencies([7, 8], list(range(arrays.n_sites)))
    assert list(v._rows) == [7, 8]
    cut = np.ones(len(arrays.link_src), bool)  # every link cut: only a site itself is reachable
    v.paths = PathMetrics(replace(arrays, link_latency_ms=np.where(cut, np.inf, arrays.link_latency_ms)))
    assert not v._rows
    after = v.latencies([7], [0, 7, 64])
    assert np.isfinite(before).all() and after.tolist() == [[np.inf, 0.0, np.inf]]


def test_least_recently_used_rows_go_first(arrays: SystemArrays, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SimClusterView, "MAX_ROW_BYTES", 0)  # the floor: 16 rows
    paths = PathMetrics(arrays)
    v = _view(arrays, paths)
    for site in range(20):
        v.latencies([site], [0])
    v.latencies([5], [0])  # used again: now the most recent
    assert list(v._rows) == [4, *range(6, 20), 5]  # 0-3 went out; 16 kept
    assert np.array_equal(v.latencies([0], list(range(65))), _pairs(paths, [0], list(range(65))))


def test_a_batch_larger_than_the_kept_rows_keeps_its_last_ones(
    arrays: SystemArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SimClusterView, "MAX_ROW_BYTES", 0)  # the floor: 16 rows
    paths = PathMetrics(arrays)
    v = _view(arrays, paths)
    v.latencies([40], [0])
    src, every = list(range(30)), list(range(arrays.n_sites))
    assert np.array_equal(v.latencies(src, every), _pairs(paths, src, every))
    assert list(v._rows) == list(range(14, 30))  # 40 and the first 14 of the batch went out
    assert all(row.base is None for row in v._rows.values())  # copies: the batch's matrix is not held

"""The twin's cluster view reads its paths' Dijkstra rows: the same latencies as the path walk, bit for bit."""

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


@pytest.mark.parametrize("keep_bytes", [0, 1 << 20])
def test_latencies_equal_the_path_walk_bit_for_bit(arrays: SystemArrays, keep_bytes: int) -> None:
    paths = PathMetrics(arrays)
    v = _view(arrays, PathMetrics(arrays, keep_bytes=keep_bytes))
    every = list(range(arrays.n_sites))
    for src, dst in [
        ([7], every),  # one origin, every site: the balancer's question
        ([7], [3, 7, 64, 3]),  # itself (0) and repeats
        ([1, 2, 3, 50, 60], [0, 64]),  # fewer targets: the walk runs Dijkstra from the targets
        ([5, 9], [9, 5, 30]),
        ([4, 4], [4]),  # nothing to search
        ([7], every),  # again: read from the kept rows where there are any
    ]:
        got = v.latencies(src, dst)
        assert got.shape == (len(src), len(dst))
        assert np.array_equal(got, _pairs(paths, src, dst)), (src, dst)
    assert v.latency_ms(64, 0) == float(_pairs(paths, [64], [0])[0, 0]) > 0


def test_the_view_reads_its_paths_rows_until_the_paths_change(arrays: SystemArrays) -> None:
    kept = PathMetrics(arrays, keep_bytes=1 << 20)
    v = _view(arrays, kept)
    before = v.latencies([7], [0, 64])
    assert list(kept._kept) == [7]  # the view's question left its row with the paths
    v.latencies([7, 8], list(range(arrays.n_sites)))
    assert list(kept._kept) == [7, 8]
    cut = np.ones(len(arrays.link_src), bool)  # every link cut: only a site itself is reachable
    v.paths = PathMetrics(replace(arrays, link_latency_ms=np.where(cut, np.inf, arrays.link_latency_ms)))
    after = v.latencies([7], [0, 7, 64])
    assert np.isfinite(before).all() and after.tolist() == [[np.inf, 0.0, np.inf]]

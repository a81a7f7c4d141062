"""Kept Dijkstra rows (``PathMetrics(keep_bytes=...)``): the same answers bit for bit, bounded memory."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edgescale.analysis._paths import PathMetrics
from edgescale.model.arrays import SystemArrays, compile_scenario
from edgescale.model.generators import hierarchical
from edgescale.model.io import scenario_from_dict


@pytest.fixture(scope="module")
def arrays() -> SystemArrays:
    """65 sites (60 edge, 4 aggregation, 1 cloud) over generated links: paths of several hops."""
    doc = hierarchical(devices=600, edge_sites=60, aggregation_sites=4, clouds=1, seed=2)
    return compile_scenario(scenario_from_dict(doc), devices=False)


def test_kept_rows_give_the_same_pairs_and_bottlenecks(arrays: SystemArrays) -> None:
    rng = np.random.default_rng(5)
    plain, kept = PathMetrics(arrays), PathMetrics(arrays, keep_bytes=12 * arrays.n_sites * 20)
    queue_of_link = np.where(rng.random(len(arrays.link_src)) < 0.5, np.arange(len(arrays.link_src)), -1)
    q_tx = rng.uniform(0.001, 0.01, len(arrays.link_src))
    for size in (1, 3, 40, 8, 200, 5, 5):  # batches overlapping earlier ones, one larger than the 20 rows kept
        o = rng.integers(0, arrays.n_sites, size)
        t = rng.integers(0, arrays.n_sites, size)
        for x, y in zip(plain.pairs(o, t), kept.pairs(o, t), strict=True):
            assert np.array_equal(x, y)
        plain_b, kept_b = plain.bottlenecks(o, t, queue_of_link, q_tx), kept.bottlenecks(o, t, queue_of_link, q_tx)
        assert all(np.array_equal(u, v) for u, v in zip(plain_b, kept_b, strict=True))
        assert len(kept._kept) <= 20
    assert len(kept._kept) == 20
    assert not plain._kept


def test_a_kept_row_is_read_not_searched_again(arrays: SystemArrays, monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy.sparse.csgraph import dijkstra

    import edgescale.analysis._paths as paths_module

    kept = PathMetrics(arrays, keep_bytes=1 << 20)
    searched: list[list[int]] = []

    def counting(graph: Any, **kw: Any) -> Any:
        searched.append(np.atleast_1d(kw["indices"]).tolist())
        return dijkstra(graph, **kw)

    monkeypatch.setattr(paths_module, "dijkstra", counting)
    first = kept.pairs(np.array([3, 4, 3]), np.array([50, 50, 60]))
    again = kept.pairs(np.array([4, 7]), np.array([60, 50]))
    assert searched == [[3, 4], [7]]  # site 4's row was kept
    assert first[0][1] == kept.pairs(np.array([4]), np.array([50]))[0][0]
    assert len(searched) == 2
    assert np.isfinite(again[0]).all()

"""LogHistogram: quantiles within the bucket resolution, exact moments, exact merges, bounded memory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edgescale.sim.histogram import LogHistogram

RES = 0.02
# Values inside [lo, hi): log-uniform over 10 decades, as latencies spread in practice.
VALUES = arrays(
    np.float64,
    st.integers(1, 400),
    elements=st.floats(-5.0, 3.0, allow_nan=False).map(lambda e: 10.0**e),
)


@given(values=VALUES, q=st.floats(0.0, 1.0))
@settings(max_examples=100, deadline=None, derandomize=True)
def test_quantile_within_resolution_of_numpy(values: np.ndarray, q: float) -> None:
    h = LogHistogram(resolution=RES)
    h.add(values)
    exact = float(np.quantile(values, q, method="inverted_cdf"))
    # The estimate is the geometric midpoint of the exact order statistic's bucket: error <= sqrt(1+res)-1.
    assert abs(h.quantile(q) / exact - 1.0) <= RES


@given(a=VALUES, b=VALUES)
@settings(max_examples=50, deadline=None, derandomize=True)
def test_merge_equals_histogram_of_concatenation(a: np.ndarray, b: np.ndarray) -> None:
    ha, hb, hab = LogHistogram(), LogHistogram(), LogHistogram()
    ha.add(a)
    hb.add(b)
    hab.add(np.concatenate((a, b)))
    merged = ha.merge(hb)
    np.testing.assert_array_equal(merged.counts, hab.counts)
    assert merged.count == a.size + b.size
    assert merged.min == hab.min
    assert merged.max == hab.max
    assert merged.mean == pytest.approx(hab.mean, rel=1e-12)


def test_moments_are_exact() -> None:
    x = np.random.default_rng(1).lognormal(-2.0, 1.0, 10_000)
    h = LogHistogram()
    h.add(x)
    assert h.count == x.size
    assert h.mean == pytest.approx(x.mean(), rel=1e-12)
    assert h.variance == pytest.approx(x.var(ddof=1), rel=1e-9)
    assert (h.min, h.max) == (x.min(), x.max())


def test_memory_is_bounded() -> None:
    h = LogHistogram()
    size = h.counts.nbytes
    rng = np.random.default_rng(2)
    for _ in range(20):
        h.add(rng.exponential(0.3, 50_000))
    assert h.counts.nbytes == size == 8 * h.n_buckets
    assert h.n_log_buckets == math.ceil(math.log(1e10) / math.log1p(RES))


def test_edges_and_bucket_index_agree() -> None:
    h = LogHistogram(lo=1e-3, hi=10.0, resolution=0.1)
    edges = h.edges
    mids = np.sqrt(edges[1:-2] * edges[2:-1])  # one value inside each log bucket
    np.testing.assert_array_equal(h.bucket_index(mids), np.arange(1, h.n_log_buckets + 1))
    assert h.bucket_index([0.0, 1e-4, 1e6]).tolist() == [0, 0, h.n_log_buckets + 1]


def test_out_of_range_values_report_min_and_max() -> None:
    h = LogHistogram(lo=1e-3, hi=1.0)
    h.add([1e-6, 2e-6, 5.0, 7.0])
    assert h.quantile(0.25) == 1e-6
    assert h.quantile(0.5) == 1e-6  # inverted CDF: rank ceil(0.5 * 4) = 2, in the underflow bucket
    assert h.quantile(0.9) == 7.0
    assert h.quantile([0.0, 1.0]).tolist() == [1e-6, 7.0]


def test_empty_histogram() -> None:
    h = LogHistogram()
    assert h.count == 0
    assert math.isnan(h.mean)
    assert math.isnan(h.quantile(0.5))
    assert math.isnan(h.variance)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lo": 0.0}, "lo: must be a finite number > 0"),
        ({"lo": 1.0, "hi": 1.0}, "hi: must be finite and > lo"),
        ({"resolution": 0.0}, r"resolution: must be in \(0, 1\]"),
    ],
    ids=["lo", "hi", "resolution"],
)
def test_bad_layout(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LogHistogram(**kwargs)


def test_bad_inputs() -> None:
    h = LogHistogram()
    with pytest.raises(ValueError, match="must not be NaN"):
        h.add([1.0, math.nan])
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]"):
        h.quantile(1.5)
    with pytest.raises(ValueError, match="layouts differ"):
        h.merge(LogHistogram(resolution=0.05))
    with pytest.raises(ValueError, match="must have"):
        LogHistogram.from_arrays([1, 2], total=0.0, total_sq=0.0, min_value=0.0, max_value=0.0)

"""``Nearest.choose`` answers one origin without going through ``weights``: the same site, ties and all."""

from __future__ import annotations

import numpy as np

from edgescale.policies import ArrayClusterView, Nearest


def test_choose_agrees_with_weights_on_random_views_with_ties_and_unreachable_sites() -> None:
    rng = np.random.default_rng(12)
    nearest = Nearest()
    checked = ties = unreachable = 0
    for _ in range(200):
        n = int(rng.integers(2, 9))
        lat = rng.integers(0, 4, size=(n, n)).astype(float)  # few values: many ties
        lat[rng.random((n, n)) < 0.2] = np.inf
        view = ArrayClusterView(
            site_tier=np.ones(n, np.int8), latency_ms=lat,
            replicas=(rng.random((1, n)) < 0.7).astype(np.int64), site_up=rng.random(n) < 0.8,
        )  # fmt: skip
        cand = rng.permutation(n)[: int(rng.integers(1, n + 1))]
        for origin in range(n):
            row = nearest.weights(view, 0, [origin], cand)[0]
            expected = int(cand[int(row.argmax())]) if row.any() else -1
            got = nearest.choose(view, 0, origin, cand)
            assert got == expected, (lat, cand, origin)
            usable = cand[view.site_up[cand] & (view.replicas[0, cand] > 0)]
            finite = lat[origin, usable][np.isfinite(lat[origin, usable])]
            ties += int(finite.size > 1 and (finite == finite.min()).sum() > 1)
            unreachable += int(usable.size > 0 and finite.size == 0)
            checked += 1
    assert checked > 800 and ties > 100 and unreachable > 20  # the cases that matter did occur

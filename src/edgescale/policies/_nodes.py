"""Per-node arrays that grow with the largest node id seen (failure detectors)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def check_nodes(nodes: NDArray[np.int64], t: NDArray[np.float64]) -> None:
    """Node ids must be >= 0 and times finite."""
    if nodes.size and int(nodes.min()) < 0:
        raise ValueError(f"node ids must be >= 0 (got {int(nodes.min())})")
    if not np.isfinite(t).all():
        raise ValueError("heartbeat times must be finite")


def grown(a: NDArray[Any], size: int, fill: Any) -> NDArray[Any]:
    """*a* extended along its first axis to at least *size* rows (doubling), new rows = *fill*."""
    if len(a) >= size:
        return a
    new = max(size, 2 * len(a), 16)
    out = np.full((new, *a.shape[1:]), fill, a.dtype)
    out[: len(a)] = a
    return out


def rounds(nodes: NDArray[np.int64]) -> list[NDArray[np.int64]]:
    """Split positions of *nodes* into rounds where each node occurs once, keeping per-node order."""
    order = np.argsort(nodes, kind="stable")
    s = nodes[order]
    start = np.ones(len(s), bool)
    start[1:] = s[1:] != s[:-1]
    group_first = np.maximum.accumulate(np.where(start, np.arange(len(s)), 0))
    rank = np.arange(len(s)) - group_first
    if len(s) == 0 or int(rank.max()) == 0:
        return [np.arange(len(nodes))]
    return [np.sort(order[rank == r]) for r in range(int(rank.max()) + 1)]

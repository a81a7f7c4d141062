"""``HeartbeatTimeout``: suspect a node once no heartbeat arrived for a fixed time."""

from __future__ import annotations

import numpy as np

from edgescale.policies._checks import number
from edgescale.policies._nodes import check_nodes, grown
from edgescale.policies.base import F64, I64, FailureDetector

__all__ = ["HeartbeatTimeout"]


class HeartbeatTimeout(FailureDetector):
    """Suspect a node when more than ``timeout_s`` passed since its last heartbeat.

    The suspicion level :meth:`phi` is the time since the last heartbeat in units of the timeout:
    a node is suspected exactly when it exceeds 1. State is one float per node id, so tracking
    10,000 agents costs 80 kB.

    Parameters
    ----------
    timeout_s : float
        Silence after which a node is suspected, seconds (> 0).

    Examples
    --------
    >>> d = HeartbeatTimeout(timeout_s=3.0)
    >>> d.heartbeat(7, t=10.0)
    >>> sorted(d.suspected(13.0)), sorted(d.suspected(13.5))
    ([], [7])
    """

    def __init__(self, *, timeout_s: float = 5.0) -> None:
        self.timeout_s = number("timeout_s", timeout_s, lo=0.0, lo_open=True)
        self._last: F64 = np.full(0, np.nan)
        self._size = 0  # largest node id seen + 1

    def _heartbeat(self, node: int, t: float) -> None:
        self._heartbeats(np.array([node], np.int64), np.array([t]))

    def _heartbeats(self, nodes: I64, t: F64) -> None:
        check_nodes(nodes, t)
        if nodes.size == 0:
            return
        self._size = max(self._size, int(nodes.max()) + 1)
        self._last = grown(self._last, self._size, np.nan)
        late = t < self._last[nodes]
        if late.any():
            k = int(np.flatnonzero(late)[0])
            raise ValueError(
                f"node {nodes[k]}: heartbeat at t={t[k]:g} before its last one ({self._last[nodes[k]]:g})"
            )
        np.fmax.at(self._last, nodes, t)

    def _suspected(self, now: float) -> frozenset[int]:
        with np.errstate(invalid="ignore"):
            return frozenset(np.flatnonzero(now - self._last > self.timeout_s).tolist())

    def _phi(self, node: int, now: float) -> float:
        last = self._last[node] if 0 <= node < len(self._last) else np.nan
        return 0.0 if np.isnan(last) else max(0.0, (now - float(last)) / self.timeout_s)

    def _suspect_at(self, node: int) -> float:
        last = self._last[node] if 0 <= node < len(self._last) else np.nan
        return float("inf") if np.isnan(last) else float(last) + self.timeout_s

    def _suspect_ats(self, nodes: I64) -> F64:
        known = (nodes >= 0) & (nodes < len(self._last))
        last = np.full(nodes.shape, np.nan)
        last[known] = self._last[nodes[known]]
        return np.where(np.isnan(last), np.inf, last + self.timeout_s)

    def phis(self, now: float) -> F64:
        """Suspicion level of every node id up to the largest seen, at *now* (0 if never heard from)."""
        with np.errstate(invalid="ignore"):
            level = np.maximum((now - self._last[: self._size]) / self.timeout_s, 0.0)
        return np.nan_to_num(level, nan=0.0)

    def _forget(self, node: int) -> None:
        if 0 <= node < len(self._last):
            self._last[node] = np.nan

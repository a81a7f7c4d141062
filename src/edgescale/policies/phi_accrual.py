"""``PhiAccrual``: the phi accrual failure detector (Hayashibara et al. 2004), as Akka and Cassandra run it."""

from __future__ import annotations

import math

import numpy as np

from edgescale.policies._checks import ParamError, integer, number
from edgescale.policies._nodes import check_nodes, grown, rounds
from edgescale.policies.base import F64, I64, FailureDetector

__all__ = ["PhiAccrual", "phi_from_stats"]

# Logistic approximation of the standard normal CDF used by Akka:
# F(y) ~ 1 / (1 + exp(-y (A + B y^2))), error 0.00014 at y = +-3.16.
_A = 1.5976
_B = 0.070566
_LN10 = math.log(10.0)


def phi_from_stats(elapsed_s: F64, mean_s: F64, std_s: F64) -> F64:
    """``phi = -log10(1 - F(elapsed))`` for a normal F with the given mean and std (vectorised).

    With the logistic approximation ``F(y) = 1 / (1 + exp(-z))``, ``z = y (1.5976 + 0.070566 y^2)``,
    ``y = (elapsed - mean) / std``, phi is ``log10(1 + exp(z))``, computed without overflow.

    Examples
    --------
    >>> float(phi_from_stats(np.array(1.0), np.array(1.0), np.array(0.1)))  # -log10(1/2)
    0.30103
    """
    y = (elapsed_s - mean_s) / std_s
    z = y * (_A + _B * y * y)
    return np.asarray(np.logaddexp(0.0, z) / _LN10, np.float64)


class PhiAccrual(FailureDetector):
    """The phi accrual failure detector, vectorised over many nodes.

    For each node it keeps the last ``window`` heartbeat intervals in a ring buffer (one numpy row
    per node, with running sums) and, at time ``now``, computes

    .. math:: \\varphi = -\\log_{10}\\bigl(1 - F(now - t_{last})\\bigr)

    where F is the normal CDF with the intervals' mean plus ``acceptable_pause_s`` and their
    (population) standard deviation, at least ``min_std_s``, in Akka's logistic approximation
    (:func:`phi_from_stats`). A node is suspected while ``phi >= threshold``; phi = 8 means
    about a 1e-8 chance that a live node is that late. As in Akka, the first heartbeat seeds the
    history with two intervals ``est * 3/4`` and ``est * 5/4`` (``est`` =
    ``first_heartbeat_estimate_s``), and a heartbeat that arrives while the node is suspected does
    not enter the history. A node never heard from has phi 0.

    Parameters
    ----------
    threshold : float
        Suspicion threshold (> 0); Akka's cluster default is 8.
    window : int
        Intervals kept per node (Akka's ``max-sample-size``, default 1000).
    min_std_s : float
        Floor of the standard deviation, seconds (> 0).
    acceptable_pause_s : float
        Added to the mean interval: pauses this long are tolerated, seconds (>= 0).
    first_heartbeat_estimate_s : float
        Expected heartbeat interval before any is measured, seconds (> 0).

    Notes
    -----
    Memory is ``8 * window`` bytes per tracked node id (80 MB for 10,000 nodes at the default
    window). Heartbeats of many nodes in one call of :meth:`heartbeats` cost a few numpy
    operations; :meth:`suspected` is vectorised over all nodes.

    References
    ----------
    .. [1] N. Hayashibara, X. Défago, R. Yared, T. Katayama, "The phi accrual failure detector",
       Proc. 23rd IEEE SRDS, 2004.
    .. [2] Akka, ``akka.remote.PhiAccrualFailureDetector``.

    Examples
    --------
    >>> d = PhiAccrual(threshold=8.0, min_std_s=0.1, first_heartbeat_estimate_s=1.0)
    >>> for t in range(6):
    ...     d.heartbeat(0, float(t))
    >>> round(d.phi(0, 6.0), 3), sorted(d.suspected(6.0))
    (0.301, [])
    >>> round(d.suspect_at(0) - 5.0, 3)  # silence that makes phi reach 8
    1.698
    """

    def __init__(
        self,
        *,
        threshold: float = 8.0,
        window: int = 1000,
        min_std_s: float = 0.1,
        acceptable_pause_s: float = 0.0,
        first_heartbeat_estimate_s: float = 1.0,
    ) -> None:
        self.threshold = number("threshold", threshold, lo=0.0, lo_open=True)
        if math.isinf(self.threshold):
            raise ParamError("threshold", "must be finite", threshold)
        self.window = integer("window", window, lo=1)
        self.min_std_s = number("min_std_s", min_std_s, lo=0.0, lo_open=True)
        self.acceptable_pause_s = number("acceptable_pause_s", acceptable_pause_s, lo=0.0)
        self.first_heartbeat_estimate_s = number(
            "first_heartbeat_estimate_s", first_heartbeat_estimate_s, lo=0.0, lo_open=True
        )
        self._last: F64 = np.full(0, np.nan)
        self._buf: F64 = np.zeros((0, self.window))
        self._count: I64 = np.zeros(0, np.int64)
        self._head: I64 = np.zeros(0, np.int64)
        self._sum: F64 = np.zeros(0)
        self._sumsq: F64 = np.zeros(0)
        self._size = 0  # largest node id seen + 1

    # --- statistics -------------------------------------------------------------------------

    def _stats(self, nodes: I64) -> tuple[F64, F64]:
        """Mean (plus the acceptable pause) and floored std of the intervals of *nodes*."""
        n = np.maximum(self._count[nodes], 1)
        mean = self._sum[nodes] / n
        var = np.maximum(self._sumsq[nodes] / n - mean * mean, 0.0)
        return mean + self.acceptable_pause_s, np.maximum(np.sqrt(var), self.min_std_s)

    def _phis(self, nodes: I64, now: F64 | float) -> F64:
        mean, std = self._stats(nodes)
        last = self._last[nodes]
        known = ~np.isnan(last)
        out = np.zeros(len(nodes))
        elapsed = np.broadcast_to(np.asarray(now, np.float64), last.shape) - last
        out[known] = phi_from_stats(elapsed[known], mean[known], std[known])
        return out

    def _append(self, nodes: I64, x: F64) -> None:
        """Push interval *x[k]* into the ring of *nodes[k]* (nodes unique)."""
        pos = self._head[nodes]
        old = np.where(self._count[nodes] >= self.window, self._buf[nodes, pos], 0.0)
        self._buf[nodes, pos] = x
        self._sum[nodes] += x - old
        self._sumsq[nodes] += x * x - old * old
        self._head[nodes] = (pos + 1) % self.window
        self._count[nodes] = np.minimum(self._count[nodes] + 1, self.window)
        wrapped = nodes[self._head[nodes] == 0]
        if wrapped.size:  # re-sum exactly once per lap: no drift from running sums
            self._sum[wrapped] = self._buf[wrapped].sum(axis=1)
            self._sumsq[wrapped] = np.square(self._buf[wrapped]).sum(axis=1)

    def _reset(self, nodes: I64) -> None:
        self._count[nodes] = 0
        self._head[nodes] = 0
        self._sum[nodes] = 0.0
        self._sumsq[nodes] = 0.0
        est = self.first_heartbeat_estimate_s
        for x in (est - est / 4, est + est / 4):
            self._append(nodes, np.full(len(nodes), x))

    def _grow(self, size: int) -> None:
        self._size = max(self._size, size)
        self._last = grown(self._last, size, np.nan)
        self._buf = grown(self._buf, size, 0.0)
        self._count = grown(self._count, size, 0)
        self._head = grown(self._head, size, 0)
        self._sum = grown(self._sum, size, 0.0)
        self._sumsq = grown(self._sumsq, size, 0.0)

    # --- hooks ------------------------------------------------------------------------------

    def _heartbeat(self, node: int, t: float) -> None:
        self._heartbeats(np.array([node], np.int64), np.array([t]))

    def _heartbeats(self, nodes: I64, t: F64) -> None:
        check_nodes(nodes, t)
        if nodes.size == 0:
            return
        self._grow(int(nodes.max()) + 1)
        for idx in rounds(nodes):
            self._beat(nodes[idx], t[idx])

    def _beat(self, nodes: I64, t: F64) -> None:
        """Heartbeats of distinct *nodes* at times *t*."""
        last = self._last[nodes]
        late = t < last
        if late.any():
            k = int(np.flatnonzero(late)[0])
            raise ValueError(f"node {nodes[k]}: heartbeat at t={t[k]:g} before its last one ({last[k]:g})")
        new = np.isnan(last)
        known = nodes[~new]
        if known.size:
            tk = t[~new]
            ok = self._phis(known, tk) < self.threshold  # a beat after a suspicion is not an interval
            self._append(known[ok], (tk - last[~new])[ok])
        if new.any():
            self._reset(nodes[new])
        self._last[nodes] = t

    def _suspected(self, now: float) -> frozenset[int]:
        nodes = np.flatnonzero(~np.isnan(self._last))
        return frozenset(nodes[self._phis(nodes, now) >= self.threshold].tolist())

    def _phi(self, node: int, now: float) -> float:
        if not 0 <= node < len(self._last):
            return 0.0
        return float(self._phis(np.array([node], np.int64), now)[0])

    def _suspect_at(self, node: int) -> float:
        if not 0 <= node < len(self._last) or np.isnan(self._last[node]):
            return float("inf")
        mean, std = self._stats(np.array([node], np.int64))
        return float(self._last[node] + mean[0] + _threshold_y(self.threshold) * std[0])

    def _suspect_ats(self, nodes: I64) -> F64:
        out = np.full(nodes.shape, np.inf)
        k = np.flatnonzero((nodes >= 0) & (nodes < len(self._last)))
        k = k[~np.isnan(self._last[nodes[k]])]
        if k.size:
            mean, std = self._stats(nodes[k])
            out[k] = self._last[nodes[k]] + mean + _threshold_y(self.threshold) * std
        return out

    def _forget(self, node: int) -> None:
        if 0 <= node < len(self._last):
            self._last[node] = np.nan
            self._count[node] = 0

    def phis(self, now: float) -> F64:
        """Phi of every node id up to the largest seen, at *now* (0 for nodes never heard from)."""
        return self._guarded(f"at t={now:g}", self._phis, np.arange(self._size), float(now))


def _threshold_y(threshold: float) -> float:
    """Standardised lateness y at which phi reaches *threshold*: root of B y^3 + A y = z*."""
    z = threshold * _LN10 + math.log1p(-(10.0**-threshold))  # ln(10^threshold - 1)
    p, q = _A / _B, -z / _B
    r = math.sqrt(q * q / 4 + p**3 / 27)
    y = float(np.cbrt(-q / 2 + r) + np.cbrt(-q / 2 - r))  # Cardano: one real root
    return y - (_B * y**3 + _A * y - z) / (3 * _B * y * y + _A)  # one Newton step

"""Time series of a run in bounded memory: at most ``max_rows`` rows, whatever the simulated duration.

The control plane adds one row per stop (epoch ends, failures, detections, ...). Each row covers an
interval ending at its time ``t_s`` and holds additive quantities (counts, busy seconds, the interval's
length). When ``max_rows`` rows are stored, adjacent pairs are merged (their quantities added, the later
time kept) and the bucket width doubles: from then on each new row gathers twice as many stops before it is
stored. So a run of any length keeps between ``max_rows / 2`` and ``max_rows`` rows (plus one partial
bucket), each covering the same number of consecutive stops, and totals over the whole run are exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import SimulationError

__all__ = ["DEFAULT_MAX_ROWS", "BoundedSeries"]

DEFAULT_MAX_ROWS = 512
"""Most rows a series keeps (an even number)."""

F64 = NDArray[np.float64]


class BoundedSeries:
    """Rows ``(t_s, values, extra)`` with additive ``values``; at most ``max_rows`` are kept (see the module).

    Parameters
    ----------
    max_rows : int
        Even, >= 2.

    Examples
    --------
    >>> s = BoundedSeries(max_rows=4)
    >>> for k in range(1, 11):
    ...     s.add(float(k), np.array([1.0, float(k)]))
    >>> s.stops_per_row, [t for t, _, _ in s.rows()]  # two rows of 4 stops, and stops 9-10 pending
    (4, [4.0, 8.0, 10.0])
    >>> [v.tolist() for _, v, _ in s.rows()]
    [[4.0, 10.0], [4.0, 26.0], [2.0, 19.0]]
    """

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        if max_rows < 2 or max_rows % 2:
            raise SimulationError(f"BoundedSeries.max_rows: must be an even number >= 2 (got {max_rows!r})")
        self.max_rows = int(max_rows)
        self.stops_per_row = 1
        self._t: list[float] = []
        self._v: list[F64] = []
        self._x: list[Any] = []
        self._pend: tuple[float, F64, Any] | None = None
        self._pend_n = 0

    def add(self, t_s: float, values: F64, extra: Any = None) -> None:
        """Add the row of one stop at *t_s* (later than the previous); *extra* is kept as of the row's end."""
        v = np.asarray(values, dtype=np.float64)
        if self._pend is None:
            self._pend = (t_s, v.copy(), extra)
        else:
            self._pend = (t_s, self._pend[1] + v, extra)
        self._pend_n += 1
        if self._pend_n < self.stops_per_row:
            return
        t, val, x = self._pend
        self._t.append(t)
        self._v.append(val)
        self._x.append(x)
        self._pend, self._pend_n = None, 0
        if len(self._t) >= self.max_rows:
            self._t = self._t[1::2]
            self._v = [a + b for a, b in zip(self._v[0::2], self._v[1::2], strict=True)]
            self._x = self._x[1::2]
            self.stops_per_row *= 2

    def __len__(self) -> int:
        return len(self._t) + (self._pend is not None)

    def rows(self) -> list[tuple[float, F64, Any]]:
        """Stored rows in time order, then the partial bucket (if any) as a last, shorter row."""
        out = list(zip(self._t, self._v, self._x, strict=True))
        if self._pend is not None:
            out.append(self._pend)
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored values (a bound on the series' memory, extras aside)."""
        return sum(v.nbytes for v in self._v) + (self._pend[1].nbytes if self._pend is not None else 0)

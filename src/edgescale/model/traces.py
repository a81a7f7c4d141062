"""Workload traces: request times replayed by a device group.

Format (CSV, UTF-8, header required)::

    t_s
    0.000
    0.013
    0.250

``t_s`` is the time of one request in seconds from the start of the trace, non-decreasing. Other
columns are ignored. A group of ``count`` devices replays the trace as the *aggregate* request
stream of the group (with ``loop: true`` it repeats with the trace's span as period).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import Issue, ScenarioError
from edgescale.model._csv import read_table

__all__ = ["read_trace"]


def read_trace(path: Path, where: str = "trace") -> NDArray[np.float64]:
    """Request times (seconds, sorted) of a trace file; every bad row is reported (up to 20)."""
    header, rows = read_table(path, where)
    cols = [h.lower() for h in header]
    if "t_s" not in cols:
        raise ScenarioError([Issue(where, "trace CSV needs a 't_s' column", list(header))])
    i = cols.index("t_s")
    times = np.empty(len(rows))
    issues: list[Issue] = []
    for k, row in enumerate(rows):
        try:
            times[k] = float(row[i])
            if not np.isfinite(times[k]) or times[k] < 0:
                raise ValueError
        except (ValueError, IndexError):
            if len(issues) < 20:
                issues.append(Issue(f"{where} row {k + 2}", "t_s must be a number >= 0", list(row)))
    if not issues and len(times) and np.any(np.diff(times) < 0):
        k = int(np.flatnonzero(np.diff(times) < 0)[0]) + 1
        issues.append(Issue(f"{where} row {k + 2}", "t_s must be non-decreasing", float(times[k])))
    if not issues and len(times) == 0:
        issues.append(Issue(where, "trace has no rows", str(path)))
    if issues:
        raise ScenarioError(issues)
    return times

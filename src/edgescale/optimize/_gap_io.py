"""Parser for OR-Library GAP files: every problem is reported with its line and column."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import Issue, ScenarioError

__all__ = ["RawGap", "parse_orlib_gap"]

MAX_ISSUES = 50
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class RawGap:
    """One instance as read: costs and weights (m, n), capacities (m,)."""

    costs: NDArray[np.float64]
    weights: NDArray[np.float64]
    capacities: NDArray[np.float64]


@dataclass(frozen=True)
class _Token:
    text: str
    line: int
    col: int

    def where(self) -> str:
        return f"line {self.line}, column {self.col}"


class _Reader:
    """Walks the token stream and collects issues instead of stopping at the first."""

    def __init__(self, text: str) -> None:
        self.tokens = [
            _Token(m.group(), line_no, m.start() + 1)
            for line_no, line in enumerate(text.splitlines(), start=1)
            for m in _TOKEN.finditer(line)
        ]
        self.pos = 0
        self.issues: list[Issue] = []

    def add(
        self, path: str, message: str, value: object = None, hint: str = "", *, has_value: bool = True
    ) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(Issue(path, message, value, hint, has_value=has_value))

    def left(self) -> int:
        return len(self.tokens) - self.pos

    def count(self, what: str) -> int | None:
        """Read a positive integer such as an instance count or a dimension."""
        if self.left() == 0:
            self.add(what, "missing: the file ends here", has_value=False)
            return None
        tok = self.tokens[self.pos]
        self.pos += 1
        try:
            value = int(tok.text)
        except ValueError:
            self.add(f"{what} at {tok.where()}", "must be a positive integer", tok.text)
            return None
        if value < 1:
            self.add(f"{what} at {tok.where()}", "must be a positive integer", value)
            return None
        return value

    def block(self, size: int, what: str, shape: tuple[int, ...], *, nonneg: bool) -> NDArray[np.float64]:
        """Read ``size`` finite numbers (the caller checked that they are there)."""
        out = np.empty(size)
        for k in range(size):
            tok = self.tokens[self.pos + k]
            try:
                value = float(tok.text)
            except ValueError:
                value = math.nan
            index = "".join(f"[{x}]" for x in np.unravel_index(k, shape))
            if not math.isfinite(value):
                self.add(f"{what}{index} at {tok.where()}", "must be a finite number", tok.text)
            elif nonneg and value < 0:
                self.add(f"{what}{index} at {tok.where()}", "must be >= 0", value)
            out[k] = value
        self.pos += size
        return out.reshape(shape)


def _instance(reader: _Reader, k: int) -> RawGap | None:
    m = reader.count(f"instance {k} agents (m)")
    n = reader.count(f"instance {k} jobs (n)")
    if m is None or n is None:
        return None
    need = 2 * m * n + m
    if reader.left() < need:
        reader.add(
            f"instance {k}",
            f"needs {need} numbers for the costs, weights and capacities of {m} agents x {n} jobs",
            reader.left(),
            "the file ends early: is it truncated?",
        )
        reader.pos = len(reader.tokens)
        return None
    costs = reader.block(m * n, f"instance {k} costs", (m, n), nonneg=False)
    weights = reader.block(m * n, f"instance {k} weights", (m, n), nonneg=True)
    caps = reader.block(m, f"instance {k} capacities", (m,), nonneg=True)
    return RawGap(costs, weights, caps)


def parse_orlib_gap(text: str, *, source: str | None = None) -> list[RawGap]:
    """Parse the OR-Library GAP format; raise ScenarioError listing every problem found."""
    reader = _Reader(text)
    count = reader.count("instance count")
    instances: list[RawGap] = []
    for k in range(1, (count or 0) + 1):
        raw = _instance(reader, k)
        if raw is None:
            break
        instances.append(raw)
    if count is not None and len(instances) == count and reader.left() > 0:
        tok = reader.tokens[reader.pos]
        reader.add(
            f"{tok.where()}",
            "unexpected data after the last instance",
            tok.text,
            f"the first line announces {count} instance{'s' if count != 1 else ''}",
        )
    if reader.issues:
        raise ScenarioError(reader.issues, source=source)
    return instances

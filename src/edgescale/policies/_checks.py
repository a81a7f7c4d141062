"""Constructor argument checks whose errors name the parameter (read by the registry)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray


class ParamError(ValueError):
    """A constructor argument is invalid: ``<param>: <rule> (got <value>)``."""

    def __init__(self, param: str, rule: str, value: Any) -> None:
        self.param = param
        self.rule = rule
        self.value = value
        super().__init__(f"{param}: {rule} (got {value!r})")


def number(param: str, value: Any, *, lo: float | None = None, lo_open: bool = False) -> float:
    """A finite real number, optionally ``> lo`` (``lo_open``) or ``>= lo``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParamError(param, "must be a number", value)
    x = float(value)
    if math.isnan(x):
        raise ParamError(param, "must not be NaN", value)
    if lo is not None and (x <= lo if lo_open else x < lo):
        raise ParamError(param, f"must be {'>' if lo_open else '>='} {lo:g}", value)
    return x


def integer(param: str, value: Any, *, lo: int | None = None) -> int:
    """An integer, optionally ``>= lo``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParamError(param, "must be an integer", value)
    if lo is not None and value < lo:
        raise ParamError(param, f"must be >= {lo}", value)
    return int(value)


def choice(param: str, value: Any, options: tuple[str, ...]) -> str:
    """One of *options*."""
    if value not in options:
        raise ParamError(param, f"must be one of {', '.join(map(repr, options))}", value)
    return str(value)


def frozen(a: NDArray[Any]) -> NDArray[Any]:
    """A read-only view of *a* (no copy)."""
    v = a.view()
    v.flags.writeable = False
    return v


def describe(value: Any) -> str:
    """Short repr for ``__repr__``: arrays by shape and dtype."""
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    return repr(value)

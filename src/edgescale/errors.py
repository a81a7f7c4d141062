"""Every exception edgescale raises.

The tree::

    EdgescaleError
    ├─ ScenarioError(ValueError)     bad scenario or plan input; ``.issues`` lists every problem
    ├─ UnstableSystemError           analysis: utilization >= 1, no steady state
    ├─ ModelAssumptionError(ValueError)  analysis: input outside a model's assumptions
    ├─ InfeasibleError               optimize: no decision meets the constraints
    ├─ SimulationError
    ├─ PolicyError                   wraps exceptions raised inside plug-in policies
    └─ ControlPlaneError
       └─ AgentUnreachableError

Messages follow ``<where>: <rule> (got <value>)[; <hint>]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AgentUnreachableError",
    "ControlPlaneError",
    "EdgescaleError",
    "InfeasibleError",
    "Issue",
    "ModelAssumptionError",
    "PolicyError",
    "ScenarioError",
    "SimulationError",
    "UnstableSystemError",
]


class EdgescaleError(Exception):
    """Base class of every error edgescale raises on purpose."""


@dataclass(frozen=True)
class Issue:
    """One problem found in an input file.

    Attributes
    ----------
    path : str
        Field path inside the document, e.g. ``services[api].replicas``.
    message : str
        The rule that was broken, e.g. ``must be >= 1``.
    value : Any
        The value given (``None`` when the field is missing).
    hint : str
        A suggestion, e.g. ``did you mean 'edge-7'?`` (may be empty).
    severity : str
        ``"error"`` or ``"warning"``.
    """

    path: str
    message: str
    value: Any = None
    hint: str = ""
    severity: str = "error"
    has_value: bool = True

    def format(self, source: str | None = None) -> str:
        """Return ``<source>: <path>: <rule> (got <value>); <hint>``."""
        parts = []
        if source:
            parts.append(f"{source}: ")
        parts.append(f"{self.path or '<root>'}: {self.message}")
        if self.has_value:
            parts.append(f" (got {_show(self.value)})")
        if self.hint:
            parts.append(f"; {self.hint}")
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Machine-readable form used by ``--format json``."""
        return {
            "path": self.path,
            "message": self.message,
            "value": _jsonable(self.value),
            "hint": self.hint,
            "severity": self.severity,
        }


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value][:20]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in list(value.items())[:20]}
    return repr(value)


class ScenarioError(EdgescaleError, ValueError):
    """A scenario or plan file is invalid; ``issues`` holds every problem found."""

    def __init__(self, issues: list[Issue], source: str | None = None) -> None:
        self.issues = list(issues)
        self.source = source
        super().__init__(self._summary())

    def _summary(self) -> str:
        n = len(self.issues)
        where = f" in {self.source}" if self.source else ""
        head = f"{n} problem{'s' if n != 1 else ''}{where}"
        lines = [head] + ["  " + i.format(self.source) for i in self.issues]
        return "\n".join(lines)


class UnstableSystemError(EdgescaleError):
    """A queue has utilization >= 1, so no steady state exists."""

    def __init__(self, message: str, *, station: str | None = None, utilization: float | None = None) -> None:
        self.station = station
        self.utilization = utilization
        super().__init__(message)


class ModelAssumptionError(EdgescaleError, ValueError):
    """Input lies outside the assumptions of an analytic model."""


class InfeasibleError(EdgescaleError):
    """No decision meets the constraints; the message names the constraint and by how much."""

    def __init__(self, message: str, *, constraint: str | None = None, excess: float | None = None) -> None:
        self.constraint = constraint
        self.excess = excess
        super().__init__(message)


class SimulationError(EdgescaleError):
    """The simulation could not run or reached an inconsistent state."""


class PolicyError(EdgescaleError):
    """A plug-in policy raised; the original exception is chained."""


class ControlPlaneError(EdgescaleError):
    """The control plane failed."""


class AgentUnreachableError(ControlPlaneError):
    """An agent did not answer in time."""

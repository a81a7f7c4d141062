"""edgescale: engineer large-scale edge computing systems from one model.

design -> analyze -> optimize -> simulate -> operate.
"""

from __future__ import annotations

__version__ = "0.1.0"

from edgescale.errors import (
    EdgescaleError,
    InfeasibleError,
    ScenarioError,
    SimulationError,
    UnstableSystemError,
)

__all__ = [
    "EdgescaleError",
    "InfeasibleError",
    "ScenarioError",
    "SimulationError",
    "UnstableSystemError",
    "__version__",
]

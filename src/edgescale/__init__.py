"""edgescale: engineer large-scale edge computing systems from one model.

design -> analyze -> optimize -> simulate -> operate. The public API mirrors the command line:

>>> import edgescale
>>> scenario = edgescale.load("examples/factory-cell.yaml")  # doctest: +SKIP
>>> arrays = edgescale.compile_scenario(scenario)  # doctest: +SKIP
>>> result = edgescale.simulate(scenario, duration_s=600, replications=3)  # doctest: +SKIP

Names are imported on first use, so ``import edgescale`` stays fast for command-line tools.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from edgescale.errors import (
    EdgescaleError,
    InfeasibleError,
    ScenarioError,
    SimulationError,
    UnstableSystemError,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from edgescale.analysis.scenario import analyze_scenario as analyze
    from edgescale.model.arrays import SystemArrays, compile_scenario
    from edgescale.model.default_plan import default_plan
    from edgescale.model.describe import describe
    from edgescale.model.io import load, save
    from edgescale.model.plan import Plan, load_plan, save_plan
    from edgescale.model.schema import Scenario
    from edgescale.sim.runner import simulate_scenario as simulate
    from edgescale.sim.sweep import simulate_sweep

_LAZY = {
    "analyze": "edgescale.analysis.scenario:analyze_scenario",
    "SystemArrays": "edgescale.model.arrays",
    "compile_scenario": "edgescale.model.arrays",
    "default_plan": "edgescale.model.default_plan",
    "describe": "edgescale.model.describe",
    "load": "edgescale.model.io",
    "save": "edgescale.model.io",
    "Plan": "edgescale.model.plan",
    "load_plan": "edgescale.model.plan",
    "save_plan": "edgescale.model.plan",
    "Scenario": "edgescale.model.schema",
    "simulate": "edgescale.sim.runner:simulate_scenario",
    "simulate_sweep": "edgescale.sim.sweep",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, _, attr = _LAZY[name].partition(":")
        value = getattr(importlib.import_module(module), attr or name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'edgescale' has no attribute {name!r}")


__all__ = [
    "EdgescaleError",
    "InfeasibleError",
    "Plan",
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "SystemArrays",
    "UnstableSystemError",
    "__version__",
    "analyze",
    "compile_scenario",
    "default_plan",
    "describe",
    "load",
    "load_plan",
    "save",
    "save_plan",
    "simulate",
    "simulate_sweep",
]

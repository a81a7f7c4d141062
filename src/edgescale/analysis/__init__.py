"""Analytic models: answers in milliseconds, from theory.

Submodules (imported on first use):

- :mod:`~edgescale.analysis.queueing` — single stations: M/M/1, M/M/c (Erlang B/C), M/M/c/K, M/G/1,
  M/D/1, G/G/1 and G/G/c approximations, priority queues, response-time percentiles.
- :mod:`~edgescale.analysis.qnetworks` — open Jackson networks; closed networks by exact MVA,
  Schweitzer and Linearizer approximate MVA, and Buzen's convolution.
- :mod:`~edgescale.analysis.netcalc` — network calculus: curves, min-plus algebra, delay and backlog
  bounds, left-over service, TFA/SFA/PMOO tandems, exact in fractions.
- :mod:`~edgescale.analysis.markov` and :mod:`~edgescale.analysis.reliability` — Markov chains,
  availability, reliability block diagrams, redundancy with repair.
- :mod:`~edgescale.analysis.caching` — Zipf popularity, hit ratios of static and LRU caches (Che).
- :mod:`~edgescale.analysis.graphs` — connectivity, distances, cuts, resilience, paths, partitioning.
- :mod:`~edgescale.analysis.scenario` — end-to-end analysis of a scenario under a plan
  (:func:`analyze_scenario`).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgescale.analysis.scenario import analyze_scenario

SUBMODULES = ("caching", "graphs", "markov", "netcalc", "qnetworks", "queueing", "reliability", "scenario", "topology")

__all__ = ["analyze_scenario", *SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in SUBMODULES:
        module: ModuleType = importlib.import_module(f"edgescale.analysis.{name}")
        return module
    if name == "analyze_scenario":
        return importlib.import_module("edgescale.analysis.scenario").analyze_scenario
    raise AttributeError(f"module 'edgescale.analysis' has no attribute {name!r}")

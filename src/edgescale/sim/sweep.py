"""Sweeps: the same simulation at every combination of ``--set`` values, on local processes or Ray.

Each point of the grid is the scenario file loaded with the base overrides plus one value per swept path
(the same ``PATH=VALUE`` syntax as ``--set``), then simulated with the same seed and settings: differences
between points come from the values, not from the random numbers' luck (common random numbers).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from edgescale.errors import Issue, ScenarioError, SimulationError

__all__ = ["parse_sweep", "simulate_sweep"]


def parse_sweep(items: Sequence[str]) -> dict[str, list[str]]:
    """``["a.b=1,2,3", "c=x,y"]`` -> ``{"a.b": ["1", "2", "3"], "c": ["x", "y"]}``.

    Raises
    ------
    ScenarioError
        For an item without ``=`` or without values.
    """
    out: dict[str, list[str]] = {}
    for item in items:
        path, eq, values = item.partition("=")
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not eq or not path.strip() or not vals:
            raise ScenarioError([Issue("--sweep", "must be PATH=V1,V2,...", item)])
        out[path.strip()] = vals
    return out


def _point(job: tuple[str, list[str], dict[str, Any]]) -> dict[str, Any]:
    from edgescale.model.io import load
    from edgescale.sim.runner import simulate_scenario

    path, overrides, kwargs = job
    return simulate_scenario(load(Path(path), overrides=overrides), **kwargs).to_dict()


def simulate_sweep(
    path: str | Path,
    sweep: Mapping[str, Sequence[str]],
    *,
    overrides: Sequence[str] = (),
    executor: str = "serial",
    workers: int | None = None,
    ray_address: str | None = None,
    progress: Callable[[float], None] | None = None,
    **simulate_kwargs: Any,
) -> dict[str, Any]:
    """Simulate a scenario file at every point of a grid of overrides.

    Parameters
    ----------
    path : str or Path
        Scenario file.
    sweep : mapping of str to sequence of str
        Override path to the values it takes (``{"device_groups[cams].count": ["10", "20"]}``).
    overrides : sequence of str
        ``PATH=VALUE`` overrides applied at every point.
    executor : {"serial", "processes", "ray"}
        Where the points run (each point's replications run serially inside it).
    workers, ray_address : optional
        As for :func:`~edgescale.sim.runner.simulate_scenario`.
    progress : callable, optional
        Called with the fraction of points done.
    **simulate_kwargs
        Passed to :func:`~edgescale.sim.runner.simulate_scenario` (``duration_s``, ``seed``, ...).

    Returns
    -------
    dict
        ``{"schema": "edgescale.sweep/1", "sweep": {...}, "points": [{"set": {path: value}, "results": {...}}]}``
        in grid order (the last path varies fastest).
    """
    names = list(sweep)
    grid = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(sweep[n] for n in names))]
    if not grid:
        raise ScenarioError([Issue("--sweep", "needs at least one value per path", dict(sweep))])
    jobs = [
        (str(path), [*overrides, *(f"{k}={v}" for k, v in point.items())], dict(simulate_kwargs))
        for point in grid
    ]
    results: list[dict[str, Any]] = []
    if executor == "serial" or len(jobs) == 1:
        for k, job in enumerate(jobs):
            results.append(_point(job))
            if progress is not None:
                progress((k + 1) / len(jobs))
    elif executor == "processes":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            for k, r in enumerate(pool.map(_point, jobs)):
                results.append(r)
                if progress is not None:
                    progress((k + 1) / len(jobs))
    elif executor == "ray":
        try:
            import ray
        except ImportError as e:
            raise SimulationError("executor 'ray' needs ray: pip install 'edgescale[distributed]'") from e
        started = not ray.is_initialized()
        if started:
            ray.init(address=ray_address, include_dashboard=False, log_to_driver=False)
        try:
            task = ray.remote(_point)
            results = list(ray.get([task.remote(j) for j in jobs]))
        finally:
            if started:
                ray.shutdown()
    else:
        raise ScenarioError([Issue("executor", "must be serial, processes or ray", executor)])
    return {
        "schema": "edgescale.sweep/1",
        "sweep": {k: list(v) for k, v in sweep.items()},
        "overrides": list(overrides),
        "points": [{"set": p, "results": r} for p, r in zip(grid, results, strict=True)],
    }

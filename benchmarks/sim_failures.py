"""The CPU cost of random failure transitions in the twin: each one is a control-plane stop.

Three scenarios, each with random site and link failures set by ``--set``-style overrides (the same rates as
the session-4 measurement of docs/benchmarks.md):

- ``national``: examples/national-fleet.yaml (10^6 devices, 10,103 sites); edge sites fail every 0.556 h on
  average (MTTR 0.004 h = 14.4 s), every link every 200 h; 60 s simulated after a 10 s warm-up, seed 5
  (about 650 transitions).
- ``melbourne``: examples/melbourne-metro.yaml (128 sites); edge sites every 0.0153 h (MTTR 0.002 h), links
  every 5 h; 100 s after 10 s, seed 5 (about 500 transitions).
- ``tiny``: two edge sites, one device (tests/sim/test_failure_memory.py ``_pair``): e1 fails every second
  on average (MTTR 0.25 s); 2,000 s, seed 3 (about 3,260 transitions).

Per scenario: the transitions, the CPU seconds of the whole ``simulate_scenario`` call (after one short
warm-up run that loads the kernel), CPU ms per transition (that whole CPU over the transitions, as the
session-4 figures), the CPU inside the control plane (``ControlPlane`` update, heartbeats, wake-ups, link
changes) per transition, and a digest of the results to check that a change keeps them bit for bit: per
application completed requests, drops, mean and p95 latency (ms), the number of logged events, and the
SHA-256 of the whole results document but its timing fields. ``--baseline`` also runs each scenario without
the random failures (the file's own failure classes; none for ``tiny``) and gives the marginal CPU per
transition: (CPU with - CPU without) / (transitions with - without). ``peak_rss_mib`` is the process's peak
resident memory so far (give one scenario with ``--only`` for its own).

Usage::

    python benchmarks/sim_failures.py                       # all three
    python benchmarks/sim_failures.py --only national --profile /tmp/national.prof
    python benchmarks/sim_failures.py --baseline         # also without the random failures: marginal CPU

The equivalent command line for ``national``::

    edgescale simulate examples/national-fleet.yaml --duration 60 --warmup 10 --seed 5 \\
        --set 'failures.classes[0]={tier: edge, mtbf_h: 0.556, mttr_h: 0.004}' --set failures.link_mtbf_h=200
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TIMING_KEYS = frozenset({"kernel_seconds", "kernel_load_seconds", "requests_per_kernel_second", "wall_seconds",
                         "cpu_seconds"})  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One benchmark scenario: a file (or the tiny built-in pair), overrides, duration, warm-up, seed."""

    name: str
    path: str | None
    overrides: tuple[str, ...]
    duration_s: float
    warmup_s: float
    seed: int
    epoch_s: float | None = None
    random_failures: bool = True  # False: without the overrides (tiny: without its failure class)


NATIONAL_FAILURES = (
    "failures.classes[0]={tier: edge, mtbf_h: 0.556, mttr_h: 0.004}",
    "failures.link_mtbf_h=200",
)
MELBOURNE_FAILURES = (
    "failures.classes[0]={tier: edge, mtbf_h: 0.0153, mttr_h: 0.002}",
    "failures.link_mtbf_h=5",
)
CASES = {
    "national": Case("national", "examples/national-fleet.yaml", NATIONAL_FAILURES, 60.0, 10.0, 5),
    "melbourne": Case("melbourne", "examples/melbourne-metro.yaml", MELBOURNE_FAILURES, 100.0, 10.0, 5),
    "tiny": Case("tiny", None, (), 2000.0, 0.0, 3, epoch_s=2000.0),
}


def scenario(case: Case) -> Any:
    """The case's validated scenario."""
    from edgescale.model.io import load, scenario_from_dict

    if case.path is None:
        sys.path.insert(0, str(ROOT))
        from tests.sim.test_failure_memory import _pair

        doc = _pair()
        if not case.random_failures:
            doc.pop("failures")
        return scenario_from_dict(doc)
    return load(ROOT / case.path, overrides=case.overrides if case.random_failures else ())


class ControlClock:
    """CPU seconds spent in the twin's control plane: its stop-time methods timed while installed."""

    METHODS = ("update", "feed_heartbeats", "next_wakeup", "set_links")

    def __init__(self) -> None:
        self.cpu_s = 0.0
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> ControlClock:
        from edgescale.sim.control import ControlPlane

        for name in self.METHODS:
            self._saved[name] = method = getattr(ControlPlane, name)
            setattr(ControlPlane, name, self._timed(method))
        return self

    def __exit__(self, *exc: object) -> None:
        from edgescale.sim.control import ControlPlane

        for name, method in self._saved.items():
            setattr(ControlPlane, name, method)

    def _timed(self, method: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                self.cpu_s += time.process_time() - t0

        return timed


def digest(result: dict[str, Any]) -> dict[str, Any]:
    """What must not change: per application counts and latency figures, events, a hash of the rest."""
    from edgescale.model.io import canonical_json

    apps = {
        a["application"]: {
            "requests": a["requests"],
            "drops": a["drops"],
            "mean_ms": a["latency_ms"]["mean"],
            "p95_ms": a["latency_ms"]["p95"],
        }
        for a in result["applications"]
    }
    rest = {k: v for k, v in result.items() if k not in TIMING_KEYS}
    return {
        "applications": apps,
        "events": len(result["events"]),
        "sha256": hashlib.sha256(canonical_json(rest).encode()).hexdigest(),
    }


def run(case: Case, profile: str | None = None) -> dict[str, Any]:
    """Simulate *case* once (after a 1-s warm-up run) and measure it."""
    from edgescale.sim.runner import simulate_scenario

    s = scenario(case)
    simulate_scenario(s, duration_s=1.0, warmup_s=0.0, seed=case.seed)  # the kernel loaded outside the timing
    prof = cProfile.Profile() if profile else None
    with ControlClock() as clock:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if prof is not None:
            prof.enable()
        r = simulate_scenario(s, duration_s=case.duration_s, warmup_s=case.warmup_s, seed=case.seed,
                              epoch_s=case.epoch_s).to_dict()  # fmt: skip
        if prof is not None:
            prof.disable()
            prof.dump_stats(profile)
        cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    n = int(r["random_failure_transitions"])
    return {
        "scenario": case.name,
        "transitions": n,
        "cpu_s": round(cpu_s, 3),
        "wall_s": round(wall_s, 3),
        "cpu_ms_per_transition": round(cpu_s / n * 1e3, 3) if n else None,
        "control_cpu_s": round(clock.cpu_s, 3),
        "control_cpu_ms_per_transition": round(clock.cpu_s / n * 1e3, 3) if n else None,
        "kernel_s": round(float(r["kernel_seconds"]), 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),  # the process so far
        "digest": digest(r),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def with_baseline(case: Case) -> dict[str, Any]:
    """:func:`run` with and without the random failures, and the marginal CPU per transition."""
    from dataclasses import replace

    row = run(case)
    base = run(replace(case, random_failures=False))
    extra = row["transitions"] - base["transitions"]
    row["baseline"] = {k: base[k] for k in ("transitions", "cpu_s", "control_cpu_s", "load_average")}
    row["marginal_cpu_ms_per_transition"] = (
        round((row["cpu_s"] - base["cpu_s"]) / extra * 1e3, 3) if extra > 0 else None
    )
    return row


def main(argv: list[str] | None = None) -> None:
    """Print one JSON object: a row per scenario."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--only", default="national,melbourne,tiny", help="comma-separated: national, melbourne, tiny"
    )
    p.add_argument("--profile", default=None, help="write a cProfile of the (single) measured run here")
    p.add_argument("--baseline", action="store_true", help="also run without the random failures")
    args = p.parse_args(argv)
    names = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        p.error(f"--only: unknown scenario(s) {unknown}; choose from {sorted(CASES)}")
    if args.profile and len(names) != 1:
        p.error("--profile: give exactly one scenario with --only")
    if args.profile and args.baseline:
        p.error("--profile: not with --baseline")
    rows = [with_baseline(CASES[n]) if args.baseline else run(CASES[n], args.profile) for n in names]
    print(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()

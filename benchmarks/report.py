"""HTML report (issue 6): generation time and size of each example's report, with and without a short simulation.

Usage: python benchmarks/report.py [--duration 60] [--replications 2]
Prints one JSON object. Per example: the whole-process `edgescale report` (scenario load, analysis, figures, the
write) and, in-process, `write_report` without and with simulation results (the simulation itself is timed apart
and not counted); the time from navigation to every plot drawn in headless Chromium (best of 3 loads).
Targets: the 10^6-device example's report <= 10 MB; drawn within 5 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import machine, run_process

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = ("factory-cell", "melbourne-metro", "national-fleet")


def _timed_report(out: Path, scenario: object, **kw: object) -> dict[str, float | int]:
    from edgescale.report import write_report

    t0 = time.perf_counter()
    write_report(out, scenario, **kw)  # type: ignore[arg-type]
    return {"seconds": round(time.perf_counter() - t0, 3), "bytes": out.stat().st_size}


def render_ms(paths: list[Path]) -> list[float | None]:
    """Navigation to every plot drawn in the system's headless Chromium, best of 3 loads (None: no Chromium)."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        return [None] * len(paths)
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    drawn = ("() => { const n = +document.body.dataset.figures; const d = [...document.querySelectorAll("
             "'.js-plotly-plot')]; return d.length === n && d.every(g => g._fullLayout); }")
    out: list[float | None] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=args)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        for path in paths:
            best = float("inf")
            for _ in range(3):
                page.goto(path.as_uri(), wait_until="commit")
                page.wait_for_function(drawn, timeout=60_000, polling="raf")
                best = min(best, float(page.evaluate("performance.now()")))
            out.append(round(best, 1))
        browser.close()
    return out


def cli(name: str, tmp: Path) -> dict[str, object]:
    """Whole-process `edgescale report` (run before this process grows: a child's peak RSS counts the parent's)."""
    exe = shutil.which("edgescale") or str(Path(sys.executable).parent / "edgescale")
    path = REPO / "examples" / f"{name}.yaml"
    whole = run_process([exe, "report", str(path), "-o", str(tmp / f"{name}-cli.html"), "--format", "json"])
    whole.pop("stdout")
    return {**whole, "bytes": (tmp / f"{name}-cli.html").stat().st_size}


def bench(name: str, tmp: Path, duration_s: float, replications: int) -> dict[str, object]:
    from edgescale.model.io import load
    from edgescale.sim.runner import simulate_scenario

    path = REPO / "examples" / f"{name}.yaml"
    scenario = load(path)
    t0 = time.perf_counter()
    sim = simulate_scenario(scenario, duration_s=duration_s, replications=replications, seed=1).to_dict()
    sim_s = time.perf_counter() - t0
    without, with_sim = tmp / f"{name}.html", tmp / f"{name}-sim.html"
    result = {
        "without_simulation": _timed_report(without, scenario),
        "with_simulation": _timed_report(with_sim, scenario, simulation=sim),
        "simulation": {"duration_s": duration_s, "replications": replications, "seconds": round(sim_s, 3),
                       "requests": sim["requests"]},
    }
    r0, r1 = render_ms([without, with_sim])
    result["without_simulation"]["render_ms"] = r0  # type: ignore[index]
    result["with_simulation"]["render_ms"] = r1  # type: ignore[index]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=60.0, help="simulated seconds per replication")
    ap.add_argument("--replications", type=int, default=2)
    ap.add_argument("--examples", nargs="*", default=list(EXAMPLES))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        whole = {name: cli(name, Path(d)) for name in args.examples}
        from edgescale.sim.kernel import compile_kernel

        compile_kernel()  # numba compile or cache load, kept out of the figures
        results = {
            name: {"cli_without_simulation": whole[name], **bench(name, Path(d), args.duration, args.replications)}
            for name in args.examples
        }
    print(json.dumps({"benchmark": "report", "examples": results, "machine": machine()}, indent=2))


if __name__ == "__main__":
    main()

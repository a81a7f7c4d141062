"""Analysis at scale (issue 3): whole-process `edgescale analyze` of the 10^6-device example, graph metrics and a
20-step resilience curve of its 10^4-site topology, and the queueing-network figures of analysis_queueing.py.

Usage: python benchmarks/analysis.py
Prints one JSON object. Targets: 10^6-device analyze <= 10 s; graph metrics + 20-step resilience <= 10 s;
Jackson 10,000 stations <= 1 s; Schweitzer 100 x 10 x 10,000 <= 1 s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import machine, run_process

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def main() -> None:
    exe = shutil.which("edgescale") or str(Path(sys.executable).parent / "edgescale")
    national = REPO / "examples" / "national-fleet.yaml"
    whole = run_process([exe, "analyze", str(national), "--format", "json"])
    report = json.loads(whole.pop("stdout"))

    from edgescale.analysis.topology import graph_report
    from edgescale.model.arrays import compile_scenario
    from edgescale.model.io import load

    arrays = compile_scenario(load(national), devices=False)
    t0 = time.perf_counter()
    g = graph_report(arrays, resilience_steps=20)
    graph_s = time.perf_counter() - t0

    queueing = subprocess.run(
        [sys.executable, str(HERE / "analysis_queueing.py")], capture_output=True, text=True, check=True
    )
    result = {
        "benchmark": "analysis",
        "analyze_national_fleet": {
            **whole,
            "devices": 1_000_000,
            "sites": arrays.n_sites,
            "wall_seconds_inside": report["wall_seconds"],
            "verdict": report["verdict"],
        },
        "graph_metrics_and_resilience_10k_sites": {
            "seconds": round(graph_s, 3),
            "sites": g["sites"],
            "links": g["links"],
            "sampled": g["distances"]["sampled"],
            "resilience_steps": len(g["resilience"]["fractions"]) - 1,
        },
        "queueing": json.loads(queueing.stdout),
        "machine": machine(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

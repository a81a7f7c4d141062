"""Start-up of ``edgescale simulate``: with the ahead-of-time kernel it imports neither numba nor rich, and gives
the same numbers as with numba's JIT (``EDGESCALE_AOT=0``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edgescale.sim import _aot

S1 = Path(__file__).resolve().parents[2] / "benchmarks" / "scenarios" / "s1.yaml"
HEAVY = ("numba", "llvmlite", "scipy", "rich", "plotly", "pyarrow", "networkx", "ray", "pandas")
TIMING = ("kernel_seconds", "wall_seconds", "kernel_load_seconds", "requests_per_kernel_second")

PROBE = """
import json, sys
from edgescale.cli import main
sys.argv = ["edgescale", "simulate", {s1!r}, "--set", "site_groups[cell].count=3", "--set",
            "device_groups[devices].count=300", "--duration", "30", "--warmup", "3", "--seed", "5",
            "--format", "json"]
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print(json.dumps(heavy), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def aot_built() -> Path:
    """The ahead-of-time kernel for the current sources (built if missing; a failed build fails the tests)."""
    return _aot.build()


def _simulate(aot: bool) -> tuple[dict[str, Any], list[str]]:
    env = {**os.environ, "EDGESCALE_AOT": "1" if aot else "0"}
    proc = subprocess.run([sys.executable, "-c", PROBE.format(s1=str(S1), heavy=HEAVY)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    heavy: list[str] = json.loads(proc.stderr.strip().splitlines()[-1])
    return json.loads(proc.stdout), heavy


def test_simulate_json_imports_neither_numba_nor_rich(aot_built: Path) -> None:
    data, heavy = _simulate(aot=True)
    assert heavy == []
    assert 800 < data["requests"] < 1_000  # 300 devices at 0.1 req/s for 30 s: 900 (Poisson, sd 30)
    assert data["kernel_load_seconds"] < 0.5  # loaded, not compiled


@pytest.mark.slow
def test_simulate_gives_the_same_numbers_without_the_aot_kernel(aot_built: Path) -> None:
    with_aot, _ = _simulate(aot=True)
    jit, heavy = _simulate(aot=False)
    assert "numba" in heavy  # the switch works: the JIT kernel was used
    for key in TIMING:
        with_aot.pop(key)
        jit.pop(key)
    assert with_aot == jit


STAND_IN = """
import sys
import numpy as np
from edgescale.sim import kernel as k
assert "numba" not in sys.modules
from edgescale.sim import _kernel_core as core
assert "numba" not in sys.modules and core.WORK_EXP == 0
out = np.zeros(10_000)
core.draw(np.array([1, 2, 3, 4], dtype=np.uint64), core.WORK_EXP, 2.0, 1.0, out)  # JIT only: imports numba
assert "numba" in sys.modules
m = k.make_model(servers=[1], rate_per_s=[0.5], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[1.0])
state = k.init_state(m, seed=1)
k.run_until(m, state, 5_000.0)
print(round(float(out.mean()), 2), int(k.read_metrics(state).completions.sum()))
"""


@pytest.mark.slow
def test_the_stand_in_module_brings_in_the_real_one_when_asked_for_more(aot_built: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", STAND_IN], capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    mean, completions = proc.stdout.split()
    assert float(mean) == pytest.approx(2.0, abs=0.1)  # exponential samples of mean 2
    assert 2_300 < int(completions) < 2_700  # 0.5 req/s for 5,000 s


FULL_APP = "import sys; from edgescale.cli.app import run; sys.argv[0] = 'edgescale'; run()"
ALONE = "import sys; from edgescale.cli import main; sys.argv[0] = 'edgescale'; main()"


@pytest.mark.parametrize("args", [["--help"], [str(S1), "--duration", "5x"]])
def test_simulate_alone_answers_like_the_full_command_line(args: list[str]) -> None:
    runs = [subprocess.run([sys.executable, "-c", code, "simulate", *args], capture_output=True, text=True,
                           timeout=60, check=False) for code in (ALONE, FULL_APP)]  # fmt: skip
    alone, full = runs
    assert (alone.returncode, alone.stdout, alone.stderr) == (full.returncode, full.stdout, full.stderr)
    assert alone.returncode == (0 if args == ["--help"] else 2)


def test_compile_command_builds_or_finds_the_kernel(aot_built: Path) -> None:
    from typer.testing import CliRunner

    from edgescale.cli.app import app

    res = CliRunner().invoke(app, ["compile", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["ok"] is True
    assert Path(data["module"]) == aot_built  # already built: found, not rebuilt
    assert data["seconds"] < 5


def test_compile_command_without_a_compiler_says_so(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from edgescale.cli.app import app

    env = {"NUMBA_CACHE_DIR": str(tmp_path), "CC": "no-such-compiler", "PATH": str(tmp_path)}
    res = CliRunner().invoke(app, ["compile", "--format", "json"], env=env)
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["ok"] is False
    assert data["error"] == "SimulationError"
    assert "no C compiler" in data["message"]

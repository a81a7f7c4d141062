"""The ahead-of-time compiled kernel (sim._aot): same numbers as numba's JIT, fallbacks, build errors."""

from __future__ import annotations

import ast
import math
import os
import pickle
import sys
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgescale.errors import SimulationError
from edgescale.sim import _aot
from edgescale.sim import kernel as k


@pytest.fixture(scope="module")
def aot() -> _aot.AotKernel:
    """The ahead-of-time kernel of the current sources, built into the compiled-code cache if missing."""
    kernel = _aot.loaded()
    if kernel is None:
        _aot.build()  # raises with the compiler's message: a missing AOT kernel fails these tests
        _aot._State.tried = False
        kernel = _aot.ensure(build_if_missing=False)
    assert kernel is not None
    return kernel


@contextmanager
def _jit_only() -> Iterator[None]:
    """Run the kernel's entry points on numba's JIT inside the block."""
    saved = _aot._State.kernel, _aot._State.tried
    _aot._State.kernel, _aot._State.tried = None, True
    try:
        yield
    finally:
        _aot._State.kernel, _aot._State.tried = saved


@contextmanager
def _counting(kernel: _aot.AotKernel) -> Iterator[dict[str, int]]:
    """Count the calls that reach the compiled-ahead functions."""
    calls: dict[str, int] = dict.fromkeys(_aot.EXPORTS, 0)
    real = kernel.module

    def wrap(name: str) -> Any:
        def f(*args: Any) -> Any:
            calls[name] += 1
            return getattr(real, name)(*args)

        return f

    kernel.module = types.SimpleNamespace(**{n: wrap(n) for n in _aot.EXPORTS})  # type: ignore[assignment]
    try:
        yield calls
    finally:
        kernel.module = real


def _model() -> k.KernelModel:
    """Every feature at once: FIFO, PS and bounded stations, five arrival kinds, four work laws, timeouts."""
    return k.make_model(
        servers=[2, 2, 1],
        discipline=[0, 1, 0],
        capacity=[-1, -1, 5],
        rate_per_s=[8.0, 1.0, 0.5, 2.0, 0.0],
        arrival_kind=[0, 1, 2, 3, 4],  # Poisson, periodic, MMPP-2, token bucket, trace
        mmpp_rate1_per_s=[0.0, 0.0, 4.0, 0.0, 0.0],
        mmpp_switch01_per_s=[0.0, 0.0, 0.2, 0.0, 0.0],
        mmpp_switch10_per_s=[0.0, 0.0, 0.5, 0.0, 0.0],
        token_depth=[1.0, 1.0, 1.0, 3.0, 1.0],
        trace_ptr=[0, 0, 0, 0, 0, 3],
        trace_t=[0.1, 0.5, 0.9],
        trace_period_s=[0.0, 0.0, 0.0, 0.0, 1.0],
        route_ptr=[0, 2, 3, 5, 6, 8],
        stage_station=[0, 1, 1, 0, 2, 2, 1, 0],
        stage_work_mean_s=[0.2, 0.3, 0.5, 0.2, 0.4, 0.6, 0.3, 0.1],
        stage_work_dist=[0, 2, 3, 1, 0, 2, 3, 0],  # exponential, gamma, lognormal, deterministic
        stage_work_scv=[1.0, 0.5, 2.0, 0.0, 1.0, 3.0, 0.7, 1.0],
        stage_delay_s=0.01,
        return_delay_s=0.005,
        timeout_s=[math.inf, 2.0, math.inf, 1.5, math.inf],
        max_retries=[0, 2, 0, 1, 0],
        app_of_source=[0, 1, 0, 1, 0],
    )


def _scenario_run() -> tuple[k.KernelState, k.KernelMetrics, dict[str, Any]]:
    """Warm-up, then epochs that add a FIFO server (reschedules), crash and repair a station, then drain."""
    m = _model()
    state = k.init_state(m, seed=7, sample_every=3, sample_capacity=2_000)
    k.run_until(m, state, 20.0)
    k.reset_metrics(state)
    k.run_until(m, state, 60.0)
    m.servers[0] = 3
    m.rate_per_s[0] = 3.0
    k.run_until(m, state, 120.0)
    m.up[2] = False
    k.run_until(m, state, 150.0)
    m.up[2] = True
    m.servers[0] = 1
    k.run_until(m, state, 300.0)
    metrics = k.drain(m, state, max_s=100.0)
    return state, metrics, k.read_samples(state)


@pytest.mark.slow
def test_aot_kernel_gives_bit_identical_results_to_the_jit_kernel(aot: _aot.AotKernel) -> None:
    with _counting(aot) as calls:
        s_aot, m_aot, samp_aot = _scenario_run()
    assert calls["run"] > 5
    assert calls["push_events"] >= 1  # the FIFO reschedule went through the compiled-ahead push
    with _jit_only():
        s_jit, m_jit, samp_jit = _scenario_run()
    assert m_aot.completions.sum() > 1_000
    assert m_aot.timeouts.sum() > 0
    assert m_aot.drops_full.sum() + m_aot.drops_down.sum() > 0
    for a, b in zip(s_aot.arrays(), s_jit.arrays(), strict=True):
        assert a.shape == b.shape
        assert a.tobytes() == b.tobytes()  # bit for bit, NaNs included
    for name in ("arrivals", "completions", "timeouts", "failed", "unfinished", "wait_s_sum", "link_s_sum",
                 "station_busy_s", "station_sojourn_s_sum"):  # fmt: skip
        assert getattr(m_aot, name).tobytes() == getattr(m_jit, name).tobytes(), name
    for h_aot, h_jit in zip(m_aot.latency, m_jit.latency, strict=True):
        assert h_aot.quantile(0.99) == h_jit.quantile(0.99)
    for col in samp_aot:
        assert samp_aot[col].tobytes() == samp_jit[col].tobytes(), col


def test_arguments_the_module_was_not_built_for_go_to_the_jit(aot: _aot.AotKernel) -> None:
    s = k.init_state(_model(), seed=1).arrays()
    changed = np.zeros(0, dtype=np.int64)
    assert aot.function("run", (s, 1.0, True, changed)) is not None
    assert aot.function("run", (s, 1.0, True, changed.astype(np.int32))) is None  # another dtype
    assert aot.function("run", (s[:-1], 1.0, True, changed)) is None  # another arity
    strided = (*s[:-1], np.zeros((4, 8))[:, ::2])
    assert aot.function("run", (strided, 1.0, True, changed)) is None  # not C-contiguous
    assert aot.function("nope", ()) is None


def test_module_name_changes_with_the_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    extra = tmp_path / "_kernel_extra.py"
    extra.write_text("A = 1\n")
    files = _aot._source_files()
    monkeypatch.setattr(_aot, "_source_files", lambda: [*files, extra])
    first = _aot.module_name()
    assert first == _aot.module_name()
    extra.write_text("A = 2\n")
    assert _aot.module_name() != first  # a stale module is never loaded: its name no longer matches


def test_missing_or_stale_module_falls_back_to_the_jit(
    aot: _aot.AotKernel, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert _aot.cache_dir() == tmp_path / "edgescale-aot"
    assert _aot._load(_aot.cache_dir(), _aot.module_name()) is None  # missing
    # a module whose metadata names another build (stale or corrupt) is not loaded either
    d = _aot.cache_dir()
    d.mkdir(parents=True)
    name = _aot.module_name()
    src = Path(aot.module.__file__ or "")
    (d / src.name.replace(aot.name, name)).write_bytes(src.read_bytes())
    (d / f"{name}.json").write_text('{"module": "_edgescale_kernel_old", "consts": {}, "specs": {}}')
    assert _aot._load(d, name) is None
    saved = _aot._State.kernel, _aot._State.tried
    _aot._State.kernel, _aot._State.tried = None, False
    try:
        assert _aot.ensure(build_if_missing=False) is None
        core = sys.modules[_aot.CORE]
        rng, out = np.array([5, 6, 7, 8], dtype=np.uint64), np.zeros(20_000)
        core.draw(rng, 0, 2.0, 1.0, out)  # on the JIT
        assert out.mean() == pytest.approx(2.0, rel=0.05)  # exponential, mean 2
        assert out.var() == pytest.approx(4.0, rel=0.1)
    finally:
        _aot._State.kernel, _aot._State.tried = saved


def test_build_failure_is_a_clear_error_and_is_not_retried(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", "no-such-compiler")
    monkeypatch.setenv("PATH", str(tmp_path))  # no gcc either
    with pytest.raises(SimulationError, match="no C compiler") as e:
        _aot.build()
    assert "numba's JIT" in str(e.value)
    assert "Traceback" not in str(e.value)
    assert (tmp_path / "edgescale-aot" / f"{_aot.module_name()}.failed").is_file()
    assert _aot.main([]) == 1  # python -m edgescale.sim._aot: one clear line, exit status 1
    err = capsys.readouterr().err
    assert err.startswith("error: AOT kernel: the build of")
    assert "no C compiler" in err
    saved = _aot._State.kernel, _aot._State.tried
    _aot._State.kernel, _aot._State.tried = None, False
    try:
        monkeypatch.setattr(_aot, "build", lambda **_: pytest.fail("a failed build was retried"))
        assert _aot.ensure() is None  # silent: the kernel runs on the JIT
        marker = tmp_path / "edgescale-aot" / f"{_aot.module_name()}.failed"
        old = marker.stat().st_mtime - _aot.RETRY_AFTER_S - 1
        os.utime(marker, (old, old))
        tries: list[int] = []
        monkeypatch.setattr(_aot, "build", lambda **_: tries.append(1))
        _aot._State.tried = False
        assert _aot.ensure() is None
        assert tries == [1]  # a day later it is tried again
    finally:
        _aot._State.kernel, _aot._State.tried = saved


def test_only_the_most_recent_modules_are_kept(tmp_path: Path) -> None:
    for i in range(5):
        stem = f"_edgescale_kernel_{i:020d}"
        for ext in (".json", ".cpython-311-x86_64-linux-gnu.so", ".lock"):
            (tmp_path / (stem + ext)).write_text("x")
            os.utime(tmp_path / (stem + ext), (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "unrelated.json").write_text("{}")
    for name, age_s in (("old", 3 * _aot.BUILD_TIMEOUT_S), ("running", 10.0)):  # killed long ago, in progress
        build_dir = tmp_path / f"._edgescale_kernel_{name}-abc"
        (build_dir / "pycc-build-x").mkdir(parents=True)
        os.utime(build_dir, (time.time() - age_s, time.time() - age_s))
    _aot._prune(tmp_path, keep=2)
    assert not (tmp_path / "._edgescale_kernel_old-abc").exists()
    (tmp_path / "._edgescale_kernel_running-abc" / "pycc-build-x").rmdir()
    (tmp_path / "._edgescale_kernel_running-abc").rmdir()  # kept: a build may be using it
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(
        [
            f"_edgescale_kernel_{i:020d}{ext}"
            for i in (3, 4)
            for ext in (".json", ".cpython-311-x86_64-linux-gnu.so", ".lock")
        ]
        + ["unrelated.json"]
    )


def test_every_python_callable_kernel_function_is_compiled_ahead() -> None:
    """A new ``@_entry`` of ``_kernel_core`` must be added to ``_aot.EXPORTS`` (and ``_aot_build``), or it runs
    on the JIT and every process imports numba again."""
    source = (Path(_aot.__file__).parent / "_kernel_core.py").read_text(encoding="utf-8")
    entries = {
        f.name
        for f in ast.parse(source).body
        if isinstance(f, ast.FunctionDef)
        and any(isinstance(d, ast.Name) and d.id == "_entry" for d in f.decorator_list)
    }
    assert entries - {"draw"} == set(_aot.EXPORTS)  # draw: the samplers' test hook


def test_numba_disable_jit_or_edgescale_aot_0_turn_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGESCALE_AOT", raising=False)
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    assert _aot.enabled()
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "1")  # the kernel must run as plain Python, as asked
    assert not _aot.enabled()
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "0")
    assert _aot.enabled()
    monkeypatch.setenv("EDGESCALE_AOT", "off")
    assert not _aot.enabled()


def test_module_name_changes_with_numba_optimisation_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMBA_OPT", raising=False)
    default = _aot.module_name()
    monkeypatch.setenv("NUMBA_OPT", "0")
    assert _aot.module_name() != default


def test_a_failure_recorded_while_waiting_for_the_lock_is_reported_not_built_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    marker = tmp_path / "edgescale-aot" / f"{_aot.module_name()}.failed"

    @contextmanager
    def lock_held_by_a_failing_build(path: Path) -> Iterator[None]:
        marker.write_text("AOT kernel: the build of X failed (from the other process)\n")  # while we waited
        yield

    monkeypatch.setattr(_aot, "_file_lock", lock_held_by_a_failing_build)
    monkeypatch.setattr(_aot.subprocess, "run", lambda *a, **kw: pytest.fail("built again"))
    with pytest.raises(SimulationError, match="from the other process"):
        _aot.build()
    builds: list[int] = []

    def failing_run(*a: Any, **kw: Any) -> Any:
        builds.append(1)
        return types.SimpleNamespace(returncode=1, stderr="cc: error\n", stdout="")

    monkeypatch.setattr(_aot.subprocess, "run", failing_run)
    with pytest.raises(SimulationError, match="cc: error"):
        _aot.build(force=True)  # an explicit rebuild does try
    assert builds == [1]


def test_unusable_cache_directory_is_a_clear_error_and_the_jit_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "file"))
    with pytest.raises(SimulationError, match="cannot create the cache directory"):
        _aot.build()
    saved = _aot._State.kernel, _aot._State.tried
    _aot._State.kernel, _aot._State.tried = None, False
    try:
        assert _aot.ensure() is None  # silent
        state = k.init_state(_model(), seed=1)
        k.run_until(_model(), state, 5.0)  # on the JIT
        assert k.read_metrics(state).arrivals.sum() > 0
    finally:
        _aot._State.kernel, _aot._State.tried = saved


def test_entry_points_pickle_by_name_into_the_receiving_process_kernel(aot: _aot.AotKernel) -> None:
    core = sys.modules[_aot.CORE]
    assert pickle.loads(pickle.dumps(core.run)) is core.run
    # an entry of the stand-in module (no JIT function) arriving in a process running on the JIT
    stand_in_entry = _aot._Entry("run", None)
    with _jit_only():
        entry = pickle.loads(pickle.dumps(stand_in_entry))
        m = _model()
        state = k.init_state(m, seed=1)
        changed = np.zeros(0, dtype=np.int64)
        assert entry(state.arrays(), 1.0, True, changed) == 0  # OK, on the JIT (no AssertionError)


def test_missing_setuptools_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "site" / "setuptools"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'setuptools'\", name='setuptools')\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "site"), *sys.path]))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(SimulationError) as e:
        _aot.build()
    assert "pip install setuptools" in str(e.value)
    assert "Traceback" not in str(e.value)


def test_the_stand_in_module_holds_the_real_modules_constants(aot: _aot.AotKernel) -> None:
    from edgescale.sim._aot_build import constants

    core = sys.modules[_aot.CORE]
    assert callable(core.draw)  # a name the stand-in does not hold: the real module is executed into it
    real = constants(core)
    assert set(real) == set(aot.consts)
    for name, value in real.items():
        assert type(aot.consts[name]) is type(value), name  # tuples stay tuples, bools stay bools
        assert aot.consts[name] == value or value != value, (
            name
        )  # (a NaN constant equals itself only by identity)
    assert real["STATE_ARRAYS"] == aot.consts["STATE_ARRAYS"] and len(real["STATE_ARRAYS"]) > 10


def test_a_lock_file_that_cannot_be_opened_is_a_clear_error_and_the_jit_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))

    @contextmanager
    def lock_of_another_user(path: Path) -> Iterator[None]:
        raise PermissionError(13, "Permission denied", str(path))
        yield

    monkeypatch.setattr(_aot, "_file_lock", lock_of_another_user)
    with pytest.raises(SimulationError, match=r"Permission denied.*set NUMBA_CACHE_DIR"):
        _aot.build()
    saved = _aot._State.kernel, _aot._State.tried
    _aot._State.kernel, _aot._State.tried = None, False
    try:
        assert _aot.ensure() is None  # no exception reaches the simulation
    finally:
        _aot._State.kernel, _aot._State.tried = saved

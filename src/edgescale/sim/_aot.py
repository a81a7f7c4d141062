"""The event kernel compiled ahead of time: an extension module that loads without numba.

numba's own on-disk cache still pays for numba's import and for initialising its compiler (about 1.3 s per
process). Instead, the kernel's entry points (``run`` and ``push_events`` of
:mod:`edgescale.sim._kernel_core`) are compiled once with ``numba.pycc`` into an ordinary CPython extension
module (:mod:`edgescale.sim._aot_build`, in a subprocess), stored in the compiled-code cache directory and
imported with :mod:`importlib` by later processes: a millisecond, and numba is never imported.

* **Where**: ``$NUMBA_CACHE_DIR/edgescale-aot`` when ``NUMBA_CACHE_DIR`` is set, else
  ``${XDG_CACHE_HOME:-~/.cache}/edgescale/aot``.
* **Key**: the module's name holds a hash of the kernel's source files (``sim/_kernel_*.py``, ``kernel.py``,
  ``_aot*.py``), the numba, numpy and Python versions and the CPU (it is compiled for this CPU). Any
  change gives a new name: a stale module is never loaded.
* **Signatures** come from the actual argument types (``numba.typeof``) of the same calls the kernel makes,
  built at build time by :func:`~edgescale.sim.kernel.make_model` and
  :func:`~edgescale.sim.kernel.init_state`. Each call checks its arguments' dtypes, dimensions and layout
  against them and uses numba's JIT when they differ: the compiled code never sees an argument it was not
  built for.
* **Without numba**: when the module is found at import, :func:`install` puts in place of
  ``_kernel_core`` a module holding its constants (recorded at build time) and the compiled entry points.
  Any other name asked of it executes the real module into it first (numba is imported then), so code
  that needs the JIT functions still gets them. The entry points pickle by name (process and Ray workers
  use their own kernel).
* **Fallback**: ``EDGESCALE_AOT=0`` (or ``NUMBA_DISABLE_JIT=1``) turns all of this off. If the build fails
  (no C compiler, no setuptools for pycc) the kernel runs on numba's JIT, silently; the failure is
  remembered for this key (``<name>.failed``) so that processes of the next day do not try again, and
  processes that waited for that build get its error instead of building again. :func:`build`
  (``edgescale compile``; ``python -m edgescale.sim._aot`` works too, after a RuntimeWarning of runpy:
  ``edgescale.sim`` imports this module) retries and reports the error.
* **Concurrency**: one build per key at a time (a lock file, ``fcntl.flock``); the others wait and load
  its module. The module is renamed into place before its metadata, whose presence says it is complete.
* **Housekeeping**: after a build, only the :data:`KEEP` most recent modules stay in the directory.
* **Portability** (untested off Linux): on Windows there is no lock (processes building at once all
  compile, the last rename wins) and a ``.pyd`` that a running process has loaded cannot be replaced (such
  a build fails: the JIT is used); on macOS the CPU is identified by ``platform`` only (no
  ``/proc/cpuinfo``): a cache directory shared between Macs of different CPUs could load code built for
  another CPU. A C compiler is needed (``cc``/``gcc``; MSVC on Windows, through setuptools).

Results are bit-identical to the JIT kernel's: the same functions are compiled with the same options
(``error_model='numpy'``, no NRT, GIL released) by the same LLVM.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgescale.errors import SimulationError

__all__ = [
    "EXPORTS",
    "AotKernel",
    "build",
    "cache_dir",
    "ensure",
    "install",
    "loaded",
    "patch_core",
    "spec_of",
]

CORE = "edgescale.sim._kernel_core"
EXPORTS = ("run", "push_events")
"""The entry points of ``_kernel_core`` compiled ahead of time."""

BUILD_TIMEOUT_S = 600.0
RETRY_AFTER_S = 86_400.0
"""A failed build is not retried automatically for a day (:func:`build` retries at once)."""
KEEP = 8
"""Modules kept in the cache directory (one per version of the kernel's sources)."""
_HERE = Path(__file__).resolve().parent
_LOCK = threading.RLock()


def _off(var: str, default: str) -> bool:
    return os.environ.get(var, default).strip().lower() in ("0", "off", "false", "no", "")


def enabled() -> bool:
    """Whether the ahead-of-time kernel may be used: ``EDGESCALE_AOT`` is not 0, off, false or no, numba's JIT
    is not disabled (``NUMBA_DISABLE_JIT``: the kernel then runs as plain Python, as asked) and the kernel's
    sources can be read (to key the module by them)."""
    if _off("EDGESCALE_AOT", "1") or not _off("NUMBA_DISABLE_JIT", "0"):
        return False
    return (_HERE / "_kernel_core.py").is_file()


def cache_dir() -> Path:
    """Directory of the compiled kernels (next to numba's cache when ``NUMBA_CACHE_DIR`` is set)."""
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    if numba_dir:
        return Path(numba_dir).expanduser() / "edgescale-aot"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "edgescale" / "aot"


def _source_files() -> list[Path]:
    return sorted([*_HERE.glob("_kernel_*.py"), *_HERE.glob("_aot*.py"), _HERE / "kernel.py"])


def _cpu_id() -> str:
    """What identifies this CPU for code compiled for it (model and feature flags)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 16)
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    keep = [ln for ln in text.split("\n\n", 1)[0].splitlines() if ln.split(":")[0].strip() in
            ("vendor_id", "cpu family", "model", "model name", "flags", "Features", "CPU part")]  # fmt: skip
    return f"{platform.machine()}\n" + "\n".join(keep)


def _numba_id(package: str = "numba") -> str:
    """numba's (or llvmlite's) version (its ``_version.py``), without importing it; "" when not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return ""
    if spec is None or spec.origin is None:
        return ""
    try:
        return (Path(spec.origin).parent / "_version.py").read_text(encoding="utf-8")
    except OSError:
        return spec.origin


def module_name() -> str:
    """Name of the extension module for the current sources, versions and CPU."""
    h = hashlib.sha256()
    for p in _source_files():
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    opt = os.environ.get("NUMBA_OPT", "")  # numba's optimisation level: other code
    for part in (sys.version, sys.implementation.cache_tag, np.__version__, _numba_id(), _numba_id("llvmlite"),
                 _cpu_id(), opt):  # fmt: skip
        h.update(part.encode() + b"\0")
    return f"_edgescale_kernel_{h.hexdigest()[:20]}"


def _ext_path(directory: Path, name: str) -> Path:
    return directory / (name + importlib.machinery.EXTENSION_SUFFIXES[0])


# ---------------------------------------------------------------------------------------------- types
def spec_of(x: Any) -> Any:
    """What the compiled code needs to know of an argument: array dtype and dimensions, scalar kind.

    An array that is not C-contiguous, aligned and writeable gets ``("?",)``, which matches nothing.
    """
    if isinstance(x, np.ndarray):
        f = x.flags
        return ("a", x.dtype.str, x.ndim) if f.c_contiguous and f.aligned and f.writeable else ("?",)
    if isinstance(x, tuple):
        return ("t", *(spec_of(v) for v in x))
    if isinstance(x, bool | np.bool_):
        return ("b",)
    if isinstance(x, int | np.integer):
        return ("i",)
    if isinstance(x, float | np.floating):
        return ("f",)
    return ("?",)


def _tuples(x: Any) -> Any:
    """JSON lists back into the tuples :func:`spec_of` gives."""
    return tuple(_tuples(v) for v in x) if isinstance(x, list) else x


class AotKernel:
    """A loaded ahead-of-time kernel module and what was recorded when it was built."""

    def __init__(self, module: types.ModuleType, meta: dict[str, Any]) -> None:
        self.module = module
        self.name: str = meta["module"]
        self.consts: dict[str, Any] = {k: _tuples(v) for k, v in meta["consts"].items()}
        self.specs: dict[str, Any] = {k: _tuples(v) for k, v in meta["specs"].items()}
        self.build_seconds: float = float(meta.get("build_seconds", 0.0))
        self.load_seconds = 0.0

    def function(self, name: str, args: tuple[Any, ...]) -> Callable[..., Any] | None:
        """The compiled *name* if it was built for these arguments' types, else None."""
        spec = self.specs.get(name)
        if spec is None or spec != spec_of(args):
            return None
        fn: Callable[..., Any] = getattr(self.module, name)
        return fn


class _State:
    kernel: AotKernel | None = None
    tried = False  # ensure() ran in this process (a build is tried at most once per process)
    shadow: types.ModuleType | None = None
    realized = False


def loaded() -> AotKernel | None:
    """The ahead-of-time kernel of this process, if one is loaded."""
    return _State.kernel


def _load(directory: Path, name: str) -> AotKernel | None:
    """Import the module *name* from *directory*, or None if it is not there (or unreadable)."""
    meta_path = directory / f"{name}.json"
    path = _ext_path(directory, name)
    if not (meta_path.is_file() and path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if name in sys.modules:
            module = sys.modules[name]
        else:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                return None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module
        if meta.get("module") != name or any(not hasattr(module, n) for n in meta["specs"]):
            return None
        return AotKernel(module, meta)
    except (OSError, ImportError, ValueError, KeyError, TypeError):
        return None


def ensure(*, build_if_missing: bool = True) -> AotKernel | None:
    """Load the ahead-of-time kernel, building it first if it is missing; None to use numba's JIT.

    Tried once per process. A failed build is remembered for this key and not tried again automatically
    for :data:`RETRY_AFTER_S` (see :func:`build` to retry); nothing is printed.
    """
    with _LOCK:
        if _State.kernel is not None or _State.tried or not enabled():
            return _State.kernel
        _State.tried = True
        directory, name = cache_dir(), module_name()
        kernel = _load(directory, name)
        if kernel is None and build_if_missing and not _failed_recently(directory / f"{name}.failed"):
            with contextlib.suppress(SimulationError, OSError):  # never an error: the JIT runs instead
                build()
            kernel = _load(directory, name)
        _set(kernel)
        return kernel


def _failed_recently(marker: Path) -> bool:
    return _failed_since(marker, time.time() - RETRY_AFTER_S)


def _failed_since(marker: Path, t: float) -> bool:
    """Whether a build failure was recorded in *marker* at or after time *t* (seconds since the epoch)."""
    try:
        return marker.stat().st_mtime >= t - 1.0  # 1 s: file times may be coarser than time.time()
    except OSError:
        return False


def _prune(directory: Path, keep: int = KEEP) -> None:
    """Delete all but the *keep* most recently built modules (and their metadata, locks, failure marks), and
    the build directories of builds killed long ago."""
    metas = sorted(directory.glob("_edgescale_kernel_*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for meta in metas[keep:]:
        for p in directory.glob(meta.stem + ".*"):
            with contextlib.suppress(OSError):
                p.unlink()
    # build directories left by killed builds (a timeout, Ctrl-C): older than any build can last
    for tmp in directory.glob("._edgescale_kernel_*-*"):
        with contextlib.suppress(OSError):
            if tmp.is_dir() and time.time() - tmp.stat().st_mtime > 2 * BUILD_TIMEOUT_S:
                shutil.rmtree(tmp)


def _set(kernel: AotKernel | None) -> None:
    _State.kernel = kernel
    if kernel is not None:
        core = sys.modules.get(CORE)
        if core is not None:
            _patch(core)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on *path* between processes (POSIX; no lock elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build(*, force: bool = False, timeout_s: float = BUILD_TIMEOUT_S) -> Path:
    """Compile the kernel into the cache directory (in a subprocess, with numba.pycc); return its path.

    Parameters
    ----------
    force : bool, optional
        Rebuild even if the module exists.
    timeout_s : float, optional
        Longest build, seconds.

    Raises
    ------
    SimulationError
        If it cannot be built (no numba, no C compiler, a compile error): the message says why and what to
        do; the kernel still works on numba's JIT.
    """
    if not (_HERE / "_kernel_core.py").is_file():
        raise SimulationError(f"AOT kernel: the kernel's sources are not in {_HERE} (a zipped install?)")
    directory, name = cache_dir(), module_name()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SimulationError(f"AOT kernel: cannot create the cache directory {directory} ({e})") from e
    if not os.access(directory, os.W_OK):
        raise SimulationError(
            f"AOT kernel: the cache directory {directory} is not writable (set NUMBA_CACHE_DIR)"
        )
    try:
        return _build_in(directory, name, force=force, timeout_s=timeout_s)
    except OSError as e:  # say, a lock file of another user in a shared cache directory
        raise SimulationError(
            f"AOT kernel: cannot build in the cache directory {directory} ({e}); set NUMBA_CACHE_DIR"
        ) from e


def _build_in(directory: Path, name: str, *, force: bool, timeout_s: float) -> Path:
    """:func:`build` once the cache directory exists: under the lock, one build per key at a time."""
    path = _ext_path(directory, name)
    failed = directory / f"{name}.failed"
    waited_from = time.time()
    with _file_lock(directory / f"{name}.lock"):
        if not force and path.is_file() and (directory / f"{name}.json").is_file():
            return path  # another process built it meanwhile
        if not force and _failed_since(failed, waited_from):
            # another process's build failed while this one waited: the same error, not a second attempt
            # (N workers starting together without a compiler would otherwise fail N times in a row)
            raise SimulationError(failed.read_text(encoding="utf-8").strip())
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
        env["EDGESCALE_AOT"] = "0"
        cmd = [sys.executable, "-m", "edgescale.sim._aot_build", str(directory), name]
        try:
            proc = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
            )
            ok, detail = proc.returncode == 0, (proc.stderr.strip() or proc.stdout.strip())
        except (OSError, subprocess.TimeoutExpired) as e:
            ok, detail = False, str(e)
        if not ok:
            last = "\n".join(detail.splitlines()[-8:])
            msg = (f"AOT kernel: the build of {name} failed; the kernel runs on numba's JIT (slower to start). "
                   f"It needs numba with numba.pycc and a C compiler (gcc or cc).\n{last}")  # fmt: skip
            with contextlib.suppress(OSError):
                failed.write_text(msg + "\n", encoding="utf-8")
            raise SimulationError(msg)
    with contextlib.suppress(OSError):
        failed.unlink()
    with contextlib.suppress(OSError):
        _prune(directory)
    return path


# ---------------------------------------------------------------------------------------------- entries
class _Entry:
    """A kernel entry point: the compiled-ahead function when it fits the arguments, else numba's JIT."""

    def __init__(self, name: str, jit: Callable[..., Any] | None) -> None:
        self.name = name
        self.jit = jit
        self.__name__ = name
        self.__doc__ = getattr(jit, "__doc__", None)

    def __call__(self, *args: Any) -> Any:
        kernel = _State.kernel if _State.kernel is not None else ensure()
        if kernel is not None:
            fn = kernel.function(self.name, args)
            if fn is not None:
                return fn(*args)
        jit = self.jit if self.jit is not None else _realize()[self.name]
        return jit(*args)

    def __repr__(self) -> str:
        return f"<kernel entry {self.name}>"

    def __reduce__(self) -> tuple[Callable[[str], Any], tuple[str]]:
        # by name, as a function is pickled: the receiving process (a worker, a Ray node) uses its own kernel
        return _core_entry, (self.name,)


def _core_entry(name: str) -> Any:
    """``_kernel_core.<name>`` of this process (unpickling an entry point); imports the kernel if needed."""
    importlib.import_module("edgescale.sim.kernel")
    return getattr(sys.modules[CORE], name)


def patch_core() -> None:
    """Route ``_kernel_core``'s entry points through :class:`_Entry` (unless the AOT kernel is off)."""
    if enabled():
        _patch(sys.modules[CORE])


def _patch(core: types.ModuleType) -> None:
    """Route the module's entry points through :class:`_Entry` (keeping its JIT functions for fallback)."""
    for name in EXPORTS:
        fn = core.__dict__.get(name)
        if fn is not None and not isinstance(fn, _Entry):
            core.__dict__[name] = _Entry(name, fn)


def _realize() -> dict[str, Callable[..., Any]]:
    """Execute the real ``_kernel_core`` into the module standing in for it (imports numba); its JIT entries."""
    with _LOCK:
        shadow = _State.shadow
        assert shadow is not None, "only the stand-in module has entries without a JIT function"
        if not _State.realized:
            _State.realized = True
            spec = shadow.__spec__
            assert spec is not None
            assert spec.loader is not None
            del shadow.__dict__["__getattr__"]
            spec.loader.exec_module(shadow)
            _patch(shadow)
        return {n: shadow.__dict__[n].jit for n in EXPORTS}


def _shadow_getattr(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module {CORE!r} has no attribute {name!r}")
    _realize()  # under the lock: waits for another thread realizing it
    shadow = _State.shadow
    assert shadow is not None
    try:
        return shadow.__dict__[name]
    except KeyError:
        raise AttributeError(f"module {CORE!r} has no attribute {name!r}") from None


def install() -> AotKernel | None:
    """Before ``_kernel_core`` is imported: if its compiled-ahead module exists, stand in for it without numba.

    Does nothing when ``_kernel_core`` is already imported (the module found then is used by its entries) or
    when the ahead-of-time kernel is off. Never builds. Returns the kernel loaded, if any.
    """
    with _LOCK:
        if not enabled() or _State.kernel is not None:
            return _State.kernel
        t0 = time.perf_counter()
        kernel = _load(cache_dir(), module_name())
        if kernel is None:
            return None
        if CORE not in sys.modules:
            spec = importlib.util.find_spec(CORE)
            if spec is None:
                return None
            shadow = types.ModuleType(CORE, "Constants and ahead-of-time entry points of the event kernel.")
            shadow.__spec__ = spec
            shadow.__loader__ = spec.loader
            shadow.__file__ = spec.origin
            shadow.__package__ = CORE.rpartition(".")[0]
            shadow.__dict__.update(kernel.consts)
            for name in EXPORTS:
                shadow.__dict__[name] = _Entry(name, None)
            shadow.__dict__["__getattr__"] = _shadow_getattr
            _State.shadow = shadow
            sys.modules[CORE] = shadow
            parent = sys.modules.get(shadow.__package__)
            if parent is not None:
                setattr(parent, CORE.rpartition(".")[2], shadow)
        _State.tried = True
        _set(kernel)
        kernel.load_seconds = time.perf_counter() - t0
        return kernel


def main(argv: list[str] | None = None) -> int:
    """``python -m edgescale.sim._aot [--force]``: build the ahead-of-time kernel and say where it is."""
    args = sys.argv[1:] if argv is None else argv
    t0 = time.perf_counter()
    try:
        path = build(force="--force" in args)
    except SimulationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"AOT kernel: {path} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Build the ahead-of-time kernel: ``python -m edgescale.sim._aot_build DIR NAME`` (run by ``_aot.build``).

Compiles the entry points of :mod:`edgescale.sim._kernel_core` (their ``py_func``, with the options of their
numba dispatchers) into the extension module *NAME* with ``numba.pycc``, for this CPU, and writes it and
its metadata (constants of ``_kernel_core``, argument specs) into *DIR* atomically: the module first, then
the metadata, whose presence says the module is complete. Run with ``EDGESCALE_AOT=0`` so that the kernel
modules are the real, JIT ones.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from edgescale.sim._aot import EXPORTS, _ext_path, spec_of


def representative_args(core: Any) -> dict[str, tuple[Any, ...]]:
    """Arguments of the kind the kernel passes to each entry point, made by the kernel's own code."""
    from edgescale.sim._kernel_sync import _load_model
    from edgescale.sim.kernel import init_state, make_model

    m = make_model(
        servers=[1], rate_per_s=[1.0], route_ptr=[0, 1], stage_station=[0], stage_work_mean_s=[0.5]
    )
    state = init_state(m, 0)
    changed = _load_model(m, state)  # what run_until passes as ``changed``
    s = state.arrays()
    return {
        "run": (s, 1.0, True, changed),
        "push_events": (s, np.array([0.5]), np.array([1], dtype=np.int64)),  # as _kernel_sync passes them
    }


def constants(core: Any) -> dict[str, Any]:
    """The module-level constants of ``_kernel_core`` (numbers, strings and tuples of them)."""
    plain = (int, float, str, bool)
    out: dict[str, Any] = {}
    for k, v in vars(core).items():
        if k.startswith("__"):
            continue
        if type(v) in plain or (type(v) is tuple and all(type(x) in plain for x in v)):
            out[k] = v
    return out


def _compile(cc: Any) -> None:
    """``cc.compile()``, with gcc compiling pycc's C support code while numba generates the kernel's code."""
    needed = ("_toolchain", "_compile_mixins", "_compile_object_files", "_get_extra_ldflags", "_output_dir",
              "_output_file", "verbose")  # fmt: skip
    if not all(hasattr(cc, n) for n in needed):  # another numba: its own sequence
        cc.compile()
        return
    tc = cc._toolchain
    tc.verbose = cc.verbose
    build_dir = tempfile.mkdtemp(prefix="pycc-build-", dir=cc._output_dir)
    try:
        with ThreadPoolExecutor(1) as pool:
            mixins = pool.submit(cc._compile_mixins, build_dir)
            objects, exports = cc._compile_object_files(build_dir)
            objects += mixins.result()
        tc.link_shared(os.path.join(cc._output_dir, cc._output_file), objects, tc.get_python_libraries(),
                       tc.get_python_library_dirs(), export_symbols=exports,
                       extra_ldflags=cc._get_extra_ldflags())  # fmt: skip
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)


@contextlib.contextmanager
def _helpers_as_ir_only(core: Any) -> Iterator[None]:
    """Within the block, the kernel's jitted helpers are compiled once each, to optimised LLVM IR only.

    pycc compiles an export's callees through their dispatchers, i.e. with numba's JIT, which costs here:

    * each helper is also turned into machine code in the JIT engine (and saved to numba's on-disk cache),
      code that this process never runs. Here a helper's library is optimised as usual but not handed to
      the JIT engine; its Python-callable entry is a placeholder never called; numba's on-disk cache is off
      for the kernel's dispatchers (an entry holding a placeholder must not be saved);
    * a helper called with an int32 here, an int64 or an integer literal there is compiled once per
      combination (``_enter`` twice, ``_free`` three times). Here its signed integer arguments are compiled
      as int64 only and the call sites convert (exactly, by widening): one compile per helper. A helper
      that needs a literal (an index into the heterogeneous tuple ``S``) would not type: the build fails
      (``test_aot`` says so) and such a helper must then be left out of ``compile_canonical`` here.

    The two cut the build's CPU time by a third (17 -> 12 s). Numbers are unchanged (integer widening is
    exact; the float code is the same); ``test_aot`` checks them bit for bit against the JIT.
    """
    codegen: Any = importlib.import_module("numba.core.codegen")
    cpu: Any = importlib.import_module("numba.core.cpu")
    caching: Any = importlib.import_module("numba.core.caching")
    dynfunc: Any = importlib.import_module("numba._dynfunc")
    dispatcher_class: Any = importlib.import_module("numba.core.dispatcher").Dispatcher

    def get_executable(self: Any, library: Any, fndesc: Any, env: Any) -> Any:
        library._ensure_finalized()  # optimised IR, ready to be linked
        name = fndesc.qualname.split(".")[-1]
        return dynfunc.make_function(
            fndesc.lookup_module(), name, "not callable (AOT build)", 0, env, (library,)
        )

    types: Any = importlib.import_module("numba.core.types")
    compile_orig = dispatcher_class.compile

    def canonical(t: Any) -> Any:
        signed_int = isinstance(t, types.Integer) and t.signed and t.bitwidth <= 64
        return types.int64 if signed_int or isinstance(t, types.IntegerLiteral) else t

    def compile_canonical(self: Any, sig: Any) -> Any:
        if self.__module__ == core.__name__ and self.targetoptions.get("no_cpython_wrapper"):
            sig = tuple(canonical(t) for t in sig)
        return compile_orig(self, sig)

    patches = [(cpu.CPUContext, "get_executable", get_executable), (dispatcher_class, "compile", compile_canonical),
               (codegen.JITCPUCodegen, "_add_module", lambda self, module: None),
               (codegen.JITCodeLibrary, "_finalize_specific", lambda self: None)]  # fmt: skip
    saved = [(owner, attr, owner.__dict__.get(attr)) for owner, attr, _ in patches]
    caches = {d: d._cache for d in vars(core).values() if isinstance(d, dispatcher_class)}
    try:
        for owner, attr, new in patches:
            setattr(owner, attr, new)
        for d in caches:
            d._cache = caching.NullCache()  # placeholders must not be saved, nor loaded (machine code)
        yield
    finally:
        for d, cache in caches.items():
            d._cache = cache
        for owner, attr, old in saved:
            if old is None:
                delattr(owner, attr)
            else:
                setattr(owner, attr, old)


def _check_importable(path: Path, name: str) -> None:
    """Import the built module (in this build process) and find its entry points: a module that would fail to
    load (say, an unresolved symbol) is never installed."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: not an extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    missing = [n for n in EXPORTS if not callable(getattr(module, n, None))]
    if missing:
        raise ImportError(f"{path}: entry points {missing} missing")


def build(directory: Path, name: str) -> dict[str, Any]:
    """Compile the module *name* into *directory*; return its metadata."""
    t0 = time.perf_counter()
    numba: Any = importlib.import_module("numba")
    pycc_compiler: Any = importlib.import_module("numba.pycc.compiler")
    target_options: Any = importlib.import_module("numba.core.cpu").CPUTargetOptions
    cc_class: Any = importlib.import_module("numba.pycc").CC

    from edgescale.sim import _kernel_core as core

    args = representative_args(core)
    options: dict[str, Any] | None = None
    for fn_name in EXPORTS:
        dispatcher = getattr(core, fn_name)
        n_params = len(inspect.signature(dispatcher.py_func).parameters)
        if n_params != len(args[fn_name]):
            raise TypeError(f"_kernel_core.{fn_name} takes {n_params} arguments; the AOT build passes "
                            f"{len(args[fn_name])} (update _aot_build.representative_args)")  # fmt: skip
        if options is not None and dispatcher.targetoptions != options:
            raise TypeError(f"_kernel_core.{fn_name}: numba options differ from the other entry points'")
        options = dict(dispatcher.targetoptions)
    assert options is not None
    jit_options = options

    class _Flags(pycc_compiler.Flags):  # type: ignore[misc]
        """pycc's flags with the dispatchers' options (error model, NRT, GIL), as the JIT compiles them."""

        def __init__(self, *a: Any) -> None:
            super().__init__(*a)
            if not a:
                target_options.parse_as_flags(self, jit_options)

    pycc_compiler.Flags = _Flags
    specs: dict[str, Any] = {}
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=directory) as tmp:
        cc = cc_class(name, source_module=core)
        cc.output_dir = tmp
        cc.target_cpu = "host"
        cc.use_nrt = bool(options.get("_nrt", True))
        for fn_name in EXPORTS:
            a = args[fn_name]
            spec = spec_of(a)
            if "?" in json.dumps(spec):
                raise TypeError(
                    f"_kernel_core.{fn_name}: an argument is not a plain C-contiguous array: {spec}"
                )
            specs[fn_name] = spec
            sig = tuple(numba.typeof(x) for x in a)  # return type inferred
            cc.export(fn_name, sig)(getattr(core, fn_name).py_func)
        with _helpers_as_ir_only(core):
            _compile(cc)
        built = Path(tmp) / cc.output_file
        _check_importable(built, name)
        meta = {"module": name, "numba": numba.__version__, "consts": constants(core), "specs": specs,
                "exports": list(EXPORTS), "build_seconds": round(time.perf_counter() - t0, 3)}  # fmt: skip
        meta_tmp = Path(tmp) / f"{name}.json"
        meta_tmp.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        os.replace(built, _ext_path(directory, name))
        os.replace(meta_tmp, directory / f"{name}.json")
    return meta


def main(argv: list[str]) -> int:
    """Entry point of the build subprocess: exit status 0 when built."""
    if len(argv) != 2:
        print("usage: python -m edgescale.sim._aot_build DIR NAME", file=sys.stderr)
        return 2
    if os.environ.get("EDGESCALE_AOT") != "0":
        print("_aot_build: run it with EDGESCALE_AOT=0", file=sys.stderr)
        return 2
    cc = (os.environ.get("CC") or "cc").split()
    if not (cc and shutil.which(cc[0])) and shutil.which("gcc") is None:
        print("no C compiler found (cc or gcc)", file=sys.stderr)
        return 1
    if os.name == "posix":  # pycc's C support code is not the kernel: compile it quickly, without debug info
        os.environ["CFLAGS"] = (os.environ.get("CFLAGS", "") + " -O1 -g0").strip()
    try:
        meta = build(Path(argv[0]), argv[1])
    except ImportError as e:  # numba.pycc needs setuptools (its distutils), not a dependency of numba
        setuptools = e.name == "setuptools" or "setuptools" in str(e)
        print(f"{e} ({'pip install setuptools' if setuptools else 'missing module'})", file=sys.stderr)
        return 1
    except Exception as e:  # one clear line (the compiler's own output precedes it)
        if os.environ.get("EDGESCALE_AOT_DEBUG"):
            traceback.print_exc()
        print(f"{type(e).__name__}: {e} (EDGESCALE_AOT_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    print(json.dumps({"module": meta["module"], "build_seconds": meta["build_seconds"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""What every ``edgescale`` command shares: consoles, output format, error reporting, scenario loading."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from edgescale.errors import ScenarioError

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich ``Console`` made on first use: a command that prints JSON need not import rich (~50 ms)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def get(self) -> Console:
        """The console itself."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


err = cast("Console", _LazyConsole(stderr=True, highlight=False, soft_wrap=True))
out = cast("Console", _LazyConsole(highlight=False, soft_wrap=True))


def console(c: Console) -> Console:
    """The real console behind *c* (:data:`err` or :data:`out`), to hand to rich's own classes."""
    return c.get() if isinstance(c, _LazyConsole) else c


def escape(markup: str) -> str:
    """Escape rich markup in *markup* (``rich.markup.escape``, imported on first use)."""
    from rich.markup import escape as rich_escape

    return rich_escape(markup)


def warning_lines(warnings: list[dict[str, Any]]) -> list[str]:
    """Text lines for a result's ``warnings`` (:meth:`~edgescale.errors.Issue.to_dict` form), markup escaped."""
    lines = []
    for w in warnings:
        got = f" (got {w['value']})" if w.get("value") not in (None, "") else ""
        hint = f"; {w['hint']}" if w.get("hint") else ""
        lines.append(escape(f"  warning: {w['path']}: {w['message']}{got}{hint}"))
    return lines


def stderr_is_terminal() -> bool:
    """``err.is_terminal``, without importing rich when stderr is plainly not a terminal."""
    if not (os.environ.get("FORCE_COLOR") or "TTY_INTERACTIVE" in os.environ):
        isatty = getattr(sys.stderr, "isatty", None)
        if isatty is None or not isatty():
            return False
    return bool(err.is_terminal)


class Format(StrEnum):
    text = "text"
    json = "json"


class State:
    debug = False


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="What-if override PATH=VALUE (repeatable).", show_default=False),
]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="File to write (.yaml or .json).")]


def emit(fmt: Format, data: Any, text: str) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps(data, indent=2, default=json_default) + "\n")
    else:
        out.print(text)


def json_default(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def fail(e: Exception, fmt: Format) -> None:
    if State.debug:
        raise e
    if fmt is Format.json:
        issues = [i.to_dict() for i in e.issues] if isinstance(e, ScenarioError) else []
        payload = {"ok": False, "error": type(e).__name__, "message": str(e), "issues": issues}
        sys.stdout.write(json.dumps(payload, indent=2, default=json_default) + "\n")
    else:
        text = str(e)
        lines = text.splitlines()
        if len(lines) > 40:
            text = "\n".join([*lines[:40], f"  ... and {len(lines) - 40} more"])
        err.print(f"[bold red]error:[/] {type(e).__name__}: {escape(text)}")
    raise typer.Exit(1)


def spinner(message: str) -> Any:
    if stderr_is_terminal():
        return err.status(message)
    from contextlib import nullcontext

    return nullcontext()


def load_scenario(path: Path, overrides: list[str] | None) -> Any:
    """Load a scenario and check its policy names and parameters (the model cannot: policies sit above it)."""
    from edgescale.model.io import load
    from edgescale.policies.registry import check_policies

    scenario = load(path, overrides=overrides or ())
    issues = check_policies(scenario.policies)
    if issues:
        raise ScenarioError(issues, str(path))
    return scenario


def fmt_ms(x: float | None) -> str:
    return "inf" if x is None else f"{x:,.2f}"


def parse_duration(text: str | None, what: str) -> float | None:
    """Seconds from '90', '90s', '5m', '1h', '1.5h', '2d'."""
    if text is None:
        return None
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    t = text.strip().lower()
    try:
        value = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        value = -1.0
    if value < 0:
        err.print(f"error: {what}: must be a duration like 90, 90s, 5m, 1h (got {text!r})")
        raise typer.Exit(2)
    return value

"""What every ``edgescale`` command shares: consoles, output format, error reporting, scenario loading."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from edgescale.errors import ScenarioError

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


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
    if err.is_terminal:
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

"""``edgescale report``: a self-contained HTML report of a design, its plan and its simulation."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the command(s) of this module to the command line (none yet)."""

"""``edgescale operate``: the control plane (controller, regions, agents)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the command(s) of this module to the command line (none yet)."""

"""The ``edgescale`` command line."""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``edgescale`` console script."""
    from edgescale.cli.app import run

    run()

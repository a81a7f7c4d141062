"""The ``edgescale`` command line."""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``edgescale`` console script."""
    if sys.argv[1:2] == ["simulate"]:  # NOTE: start-up time: build this command alone, not all ~25
        from edgescale.cli.simulate import run_alone

        run_alone()
        return
    from edgescale.cli.app import run

    run()

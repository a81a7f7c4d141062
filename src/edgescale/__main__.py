"""``python -m edgescale``."""

from edgescale.cli import main

main()

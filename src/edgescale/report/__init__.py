"""Self-contained HTML reports of a design, its plan and its simulation (needs ``edgescale[report]``).

>>> from edgescale.report import build_report, write_report  # doctest: +SKIP
>>> write_report("report.html", scenario, simulation=results)  # doctest: +SKIP
"""

from __future__ import annotations

from edgescale.report.page import SECTIONS, build_report, write_report

__all__ = ["SECTIONS", "build_report", "write_report"]

"""The capacity plan and availability tables (plain HTML)."""

from __future__ import annotations

import html
from typing import Any

from edgescale.report._fig import note, td

__all__ = ["MAX_CAPACITY_ROWS", "availability_table", "capacity_table"]

MAX_CAPACITY_ROWS = 100
MINUTES_PER_YEAR = 525_600.0


def _row(cells: list[Any], attrs: str = "") -> str:
    return f"<tr{attrs}>" + "".join(td(c) for c in cells) + "</tr>"


def _capacity_summary(rows: list[dict[str, Any]]) -> str:
    """One line per (application, service): how many queues to resize, servers and cost, how many cannot."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((str(r.get("application")), str(r.get("service"))), []).append(r)
    head = (
        "<tr><th>application</th><th>service</th><th>queues</th><th>servers now</th><th>servers needed</th>"
        "<th>extra cost per hour</th><th>cannot meet</th><th>sites (first)</th></tr>"
    )
    body = []
    for (app, svc), rs in groups.items():
        ok = [r for r in rs if r.get("servers_needed") is not None]
        sites = ", ".join(str(r.get("site")) for r in rs[:3]) + (" …" if len(rs) > 3 else "")
        body.append(
            _row(
                [
                    app, svc, f"{len(rs):,}", f"{sum(int(r['servers_now']) for r in rs):,}",
                    f"{sum(int(r['servers_needed']) for r in ok):,}" if ok else "–",
                    f"{sum(float(r.get('extra_cost_per_hour') or 0.0) for r in ok):,.2f}",
                    f"{len(rs) - len(ok):,}", sites,
                ]
            )
        )
    return f'<table class="data" id="capacity-summary"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def capacity_table(analysis: dict[str, Any]) -> str:
    """Queues whose server count should change to meet the SLO budget: a summary, then the queues."""
    rows = list(analysis.get("capacity_plan") or [])
    if not rows:
        return note("No queue needs another server count to meet its latency budget.")
    head = (
        "<tr><th>application</th><th>service</th><th>site</th><th>servers now</th><th>servers needed</th>"
        "<th>budget (ms)</th><th>extra cost per hour</th></tr>"
    )
    # the queues a resize fixes first (largest cost change first), then those no server count fixes
    shown = sorted(
        rows, key=lambda r: (r.get("servers_needed") is None, -abs(float(r.get("extra_cost_per_hour") or 0.0)))
    )[:MAX_CAPACITY_ROWS]
    body = []
    for r in shown:
        need = r.get("servers_needed")
        extra = r.get("extra_cost_per_hour")
        body.append(
            _row(
                [
                    r.get("application"), r.get("service"), r.get("site"), r.get("servers_now"),
                    "–" if need is None else need,
                    "–" if r.get("budget_ms") is None else f"{r['budget_ms']:,.2f}",
                    r.get("note", "") if extra is None else f"{extra:,.2f}",
                ]
            )
        )
    more = f" (the first {len(shown):,} of {len(rows):,})" if len(shown) < len(rows) else ""
    add = sum(max(0, int(r["servers_needed"]) - int(r["servers_now"])) for r in rows if r.get("servers_needed") is not None)
    cost = sum(float(r.get("extra_cost_per_hour") or 0.0) for r in rows)
    lead = note(
        f"{len(rows):,} queue(s) to resize: {add:,} servers to add in all, {cost:,.2f} per hour more "
        "(negative: servers that can go)."
    )
    details = (
        f"<details><summary>Every queue{more}</summary>"
        f'<table class="data" id="capacity-table"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table></details>'
    )
    return lead + _capacity_summary(rows) + details


def availability_table(analysis: dict[str, Any], simulation: dict[str, Any] | None = None) -> str:
    """Availability per application against its target: analytic, and as users saw it in the simulation."""
    apps = list(analysis.get("applications") or [])
    if not apps:
        return note("No application to assess.")
    seen: dict[str, dict[str, Any]] = {}
    for x in (simulation or {}).get("applications") or []:
        av = x.get("availability")
        if isinstance(av, dict) and av.get("mean") is not None:
            seen[str(x.get("application"))] = av
    sim_head = "<th>simulated (users saw, 99 % CI)</th>" if seen else ""
    head = (
        f"<tr><th>application</th><th>availability</th>{sim_head}<th>target</th><th>downtime (min/year)</th>"
        "<th>meets target</th></tr>"
    )
    body = []
    for x in apps:
        a, t, ok = x.get("availability"), x.get("slo_availability"), x.get("meets_availability_slo")
        verdict = "–" if ok is None else ("yes" if ok else "no")
        cls = "" if ok is None else (' class="ok"' if ok else ' class="fail"')
        attrs = f'{cls} data-app="{html.escape(x["application"])}" data-availability="{a!r}"'
        cells = [x["application"], "–" if a is None else f"{100 * a:.4f} %"]
        if seen:
            s_av = seen.get(x["application"])
            if s_av is None:
                cells.append("–")
            else:
                hw = s_av.get("ci99_half_width")
                cells.append(f"{100 * s_av['mean']:.4f} %" + ("" if hw is None else f" ± {100 * hw:.4f}"))
                attrs += f' data-sim-availability="{s_av["mean"]!r}"'
        cells += [
            "–" if t is None else f"{100 * t:.4f} %",
            "–" if a is None else f"{(1 - a) * MINUTES_PER_YEAR:,.1f}",
            verdict,
        ]
        body.append(_row(cells, attrs))
    return f'<table class="data" id="availability-table"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'

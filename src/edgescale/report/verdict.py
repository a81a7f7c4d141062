"""The verdict at the top of the report: in words, and as data attributes a test or a tool can read.

Every number comes from the results: SLO counts and availability from the analysis (the same rule as
``AnalysisResult.verdict``), the bottleneck as analyze names it (``bottlenecks[0]``: the busiest queue,
service at site), the busiest site from its per-site utilization, and — with a simulation — the
simulated latency at each application's SLO percentile, the busiest simulated site and its mean
utilization (both from ``utilization.top_sites``), drops, timeouts and energy.
"""

from __future__ import annotations

import html
from typing import Any

from edgescale.report._fig import ms, pct, td
from edgescale.report._results import (
    analytic_meets,
    busiest_sites,
    sim_apps,
    sim_busiest_site,
    sim_meets_latency,
    sim_quantile_ms,
)

__all__ = ["verdict_facts", "verdict_section"]


def verdict_facts(analysis: dict[str, Any], sim: dict[str, Any] | None) -> dict[str, Any]:
    """The verdict's numbers (plain data)."""
    apps = list(analysis.get("applications") or [])
    judged = [x for x in apps if analytic_meets(x) is not None]
    met = [x for x in judged if analytic_meets(x)]
    sites = busiest_sites(analysis)
    queue = (analysis.get("bottlenecks") or [None])[0]  # analyze's bottleneck: the busiest queue
    queue = queue if isinstance(queue, dict) and queue.get("utilization") is not None else None
    facts: dict[str, Any] = {
        "slo_apps": len(judged),
        "slo_met": len(met),
        "failing": [x["application"] for x in judged if not analytic_meets(x)],
        "bottleneck_service": str(queue.get("service")) if queue else None,
        "bottleneck_site": str(queue.get("site")) if queue else None,
        "bottleneck_utilization": float(queue["utilization"]) if queue else None,
        "bottleneck_queue": queue,
        "busiest_site": sites[0][0] if sites else None,
        "busiest_site_utilization": sites[0][1] if sites else None,
        "availability_misses": [
            (x["application"], x["availability"], x["slo_availability"])
            for x in apps
            if x.get("meets_availability_slo") is False
        ],
        "latency_misses": [
            (x["application"], x["slo_percentile"], x.get("latency_at_slo_percentile_ms"), x["slo_latency_ms"])
            for x in apps
            if x.get("meets_latency_slo") is False
        ],
        "simulation": sim is not None,
    }
    if sim is not None:
        sims = sim_apps(sim)
        sj = [(x, sim_meets_latency(x, sims.get(x["application"]))) for x in apps]
        sj = [(x, ok) for x, ok in sj if ok is not None]
        busiest = sim_busiest_site(sim)
        facts |= {
            "sim_slo_apps": len(sj),
            "sim_slo_met": sum(1 for _, ok in sj if ok),
            "sim_busiest_site": busiest[0] if busiest else None,
            # the same site's mean utilization (not the results' mean_by_site_max, which may be another's)
            "sim_max_utilization": busiest[1] if busiest else 0.0,
            "energy_j": float(sim.get("energy_j") or 0.0),
            "requests": int(sim.get("requests") or 0),
            "drops": sum(int(x.get("drops", 0)) for x in sim["applications"]),
            "timeouts": sum(int(x.get("timeouts", 0)) for x in sim["applications"]),
            "replications": sim.get("replications"),
            "duration_s": sim.get("duration_s"),
        }
    return facts


def _analytic_sentence(f: dict[str, Any]) -> str:
    parts = [f"{f['slo_met']} of {f['slo_apps']} applications meet their SLOs"]
    q = f["bottleneck_queue"]
    if q is not None:
        servers = f" of {q['servers']} servers" if q.get("servers") is not None else ""
        parts.append(
            f"bottleneck: {f['bottleneck_service']} at {f['bottleneck_site']} "
            f"({pct(f['bottleneck_utilization'])} utilization{servers})"
        )
    if f["busiest_site"] is not None:
        parts.append(f"busiest site {f['busiest_site']} at {pct(f['busiest_site_utilization'])} of its cores busy")
    for app, av, target in f["availability_misses"]:
        parts.append(f"availability of {app} {pct(av, 4)} against a {pct(target, 4)} target")
    for app, p, got, target in f["latency_misses"]:
        parts.append(f"p{p:g} latency of {app} {ms(got)} ms against {target:g} ms")
    return "; ".join(parts) + "."


def _sim_sentence(f: dict[str, Any]) -> str:
    head = (
        f"Simulation ({f['replications']} replication(s) of {f['duration_s']:g} s, {f['requests']:,} requests): "
        f"{f['sim_slo_met']} of {f['sim_slo_apps']} applications meet their latency SLOs"
    )
    parts = [head]
    if f["sim_busiest_site"] is not None:
        parts.append(f"busiest site {f['sim_busiest_site']} at {pct(f['sim_max_utilization'])} mean utilization")
    parts.append(f"{f['drops']:,} drops, {f['timeouts']:,} timeouts")
    parts.append(f"energy {f['energy_j'] / 3.6e6:,.3f} kWh")
    return "; ".join(parts) + "."


def _attrs(f: dict[str, Any]) -> str:
    keys = ["slo_apps", "slo_met", "bottleneck_service", "bottleneck_site", "bottleneck_utilization",
            "busiest_site", "busiest_site_utilization", "simulation"]
    if f["simulation"]:
        keys += ["sim_slo_apps", "sim_slo_met", "sim_busiest_site", "sim_max_utilization", "energy_j",
                 "requests", "drops", "timeouts"]
    out = []
    for k in keys:
        v = f[k]
        text = "" if v is None else ("true" if v is True else "false" if v is False else repr(v) if isinstance(v, float) else str(v))
        out.append(f'data-{k.replace("_", "-")}="{html.escape(text)}"')
    return " ".join(out)


def _app_rows(analysis: dict[str, Any], sim: dict[str, Any] | None) -> str:
    sims = sim_apps(sim)
    rows = []
    for x in analysis.get("applications") or []:
        s = sims.get(x["application"])
        p = x.get("slo_percentile")
        got_sim = sim_quantile_ms(s, float(p)) if s is not None and p is not None else None
        ok = analytic_meets(x)
        cls = "" if ok is None else (' class="ok"' if ok else ' class="fail"')
        target = f"p{p:g} ≤ {x['slo_latency_ms']:g} ms" if x.get("slo_latency_ms") is not None else "–"
        av_t = x.get("slo_availability")
        cells = [
            x["application"], target, ms(x.get("latency_at_slo_percentile_ms")) if p is not None else "–",
            "–" if got_sim is None else f"{got_sim:,.2f}", pct(x.get("availability"), 4),
            "–" if av_t is None else pct(av_t, 4), "–" if ok is None else ("meets" if ok else "fails"),
        ]
        sim_attr = "" if got_sim is None else f' data-sim-ms="{got_sim!r}"'
        rows.append(
            f'<tr{cls} data-app="{html.escape(x["application"])}"{sim_attr}>'
            + "".join(td(c) for c in cells)
            + "</tr>"
        )
    head = (
        "<tr><th>application</th><th>latency SLO</th><th>analytic at SLO pct (ms)</th>"
        "<th>simulated at SLO pct (ms)</th><th>availability</th><th>target</th><th>analytic verdict</th></tr>"
    )
    return f'<table class="data" id="verdict-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def verdict_section(analysis: dict[str, Any], sim: dict[str, Any] | None) -> str:
    """The ``<section id="verdict">`` element."""
    f = verdict_facts(analysis, sim)
    lines = [f'<p class="headline">{html.escape(_analytic_sentence(f))}</p>']
    if sim is not None:
        lines.append(f'<p class="headline">{html.escape(_sim_sentence(f))}</p>')
    else:
        lines.append(
            '<p class="nosim">No simulation was given: the sections below show the analytic results only '
            "(run <code>edgescale simulate FILE -o results.json</code>, then pass <code>--sim results.json</code>).</p>"
        )
    return (
        f'<section id="verdict" {_attrs(f)}><h2>Verdict</h2>{"".join(lines)}{_app_rows(analysis, sim)}</section>'
    )

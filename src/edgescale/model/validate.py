"""Second validation phase: cross-references between parts of a scenario.

Local values (types, ranges, unknown keys) are checked by the pydantic models in
:mod:`edgescale.model.schema`; this module checks what needs the whole document: ids exist and are
unique, application DAGs are acyclic with one entry stage, files exist, tiers have sites. It returns
issues (errors and warnings) instead of stopping at the first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from edgescale.errors import Issue, ScenarioError
from edgescale.model._csv import read_column, read_positions, read_table
from edgescale.model._errors import suggest
from edgescale.model.schema import Application, DeviceGroup, Scenario, SiteGroup

__all__ = ["check_references", "group_site_names", "site_names_and_tiers", "stage_parents"]


def group_site_names(group: SiteGroup, base_dir: Path, where: str) -> list[str]:
    """Names of the sites a site group generates: ``<id>-<k>`` or ``<id>-<value of id_column>``."""
    if group.csv is not None:
        path = base_dir / group.csv
        if group.id_column:
            return [f"{group.id}-{v}" for v in read_column(path, group.id_column, f"{where}.csv")]
        _, rows = read_table(path, f"{where}.csv")
        return [f"{group.id}-{k + 1}" for k in range(len(rows))]
    assert group.count is not None
    return [f"{group.id}-{k + 1}" for k in range(group.count)]


def site_names_and_tiers(scenario: Scenario, base_dir: Path) -> tuple[list[str], list[str]]:
    """All site names (explicit first, then generated in group order) and their tiers."""
    names = [s.id for s in scenario.sites]
    tiers: list[str] = [s.tier for s in scenario.sites]
    for gi, g in enumerate(scenario.site_groups):
        generated = group_site_names(g, base_dir, f"site_groups[{g.id or gi}]")
        names.extend(generated)
        tiers.extend([g.tier] * len(generated))
    return names, tiers


def stage_parents(app: Application) -> list[tuple[str, ...]]:
    """Predecessors of each stage: ``after`` when given, else the previous stage."""
    parents: list[tuple[str, ...]] = []
    for k, st in enumerate(app.stages):
        if st.after is not None:
            parents.append(st.after)
        else:
            parents.append((app.stages[k - 1].service,) if k > 0 else ())
    return parents


def _duplicates(ids: Iterable[str], where: str) -> list[Issue]:
    counts = Counter(ids)
    return [Issue(f"{where}[{i}]", f"duplicate id ({n} times)", i) for i, n in counts.items() if n > 1]


def _unknown(where: str, value: str, known: Iterable[str], what: str) -> Issue:
    return Issue(where, f"unknown {what}", value, suggest(value, sorted(known)))


def _check_app(app: Application, services: set[str], where: str) -> list[Issue]:
    issues: list[Issue] = []
    names = [s.service for s in app.stages]
    issues += [
        Issue(f"{where}.stages", f"service '{n}' appears {c} times; each stage runs a distinct service", n)
        for n, c in Counter(names).items()
        if c > 1
    ]
    for k, st in enumerate(app.stages):
        if st.service not in services:
            issues.append(_unknown(f"{where}.stages[{k}].service", st.service, services, "service"))
    parents = stage_parents(app)
    for k, ps in enumerate(parents):
        for p in ps:
            if p not in names:
                issues.append(_unknown(f"{where}.stages[{k}].after", p, names, "stage"))
            elif p == names[k]:
                issues.append(Issue(f"{where}.stages[{k}].after", "a stage cannot follow itself", p))
    roots = [names[k] for k, ps in enumerate(parents) if not ps]
    if len(roots) != 1:
        issues.append(
            Issue(f"{where}.stages", "must have exactly one entry stage (a stage with after: [])", roots)
        )
    cycle = _find_cycle(names, parents)
    if cycle:
        issues.append(
            Issue(f"{where}.stages", "the stages form a cycle; an application must be a DAG", cycle)
        )
    return issues


def _find_cycle(names: list[str], parents: list[tuple[str, ...]]) -> list[str]:
    children: dict[str, list[str]] = {n: [] for n in names}
    for n, ps in zip(names, parents, strict=True):
        for p in ps:
            if p in children:
                children[p].append(n)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        stack.append(n)
        for c in children[n]:
            if state.get(c) == 1:
                return [*stack[stack.index(c) :], c]
            if c not in state:
                found = visit(c)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return []

    for n in names:
        if n not in state:
            found = visit(n)
            if found:
                return found
    return []


def _check_file(base_dir: Path, rel: str, where: str) -> list[Issue]:
    path = base_dir / rel
    if path.is_file():
        return []
    hint = suggest(path.name, [c.name for c in path.parent.glob("*")]) if path.parent.is_dir() else ""
    return [Issue(where, "file not found", rel, hint)]


def check_references(scenario: Scenario, base_dir: Path) -> list[Issue]:
    """Every cross-reference problem in *scenario* (errors, then warnings)."""
    s = scenario
    issues: list[Issue] = []
    region_ids = [r.id for r in s.regions]
    issues += _duplicates(region_ids, "regions")
    issues += _duplicates([g.id for g in s.site_groups], "site_groups")
    names: list[str] = [x.id for x in s.sites]
    tiers: list[str] = [x.tier for x in s.sites]
    for gi, g in enumerate(s.site_groups):
        where = f"site_groups[{g.id}]"
        if g.csv is not None and not (base_dir / g.csv).is_file():
            issues += _check_file(base_dir, g.csv, f"{where}.csv")
            continue
        try:
            generated = group_site_names(g, base_dir, where)
            if g.csv is not None:
                read_positions(base_dir / g.csv, f"{where}.csv")
        except ScenarioError as e:
            issues += e.issues
            continue
        names.extend(generated)
        tiers.extend([g.tier] * len(generated))
        for r in g.regions or ():
            if r not in region_ids:
                issues.append(_unknown(f"{where}.regions", r, region_ids, "region"))
        if g.area is not None and g.area.region is not None and g.area.region not in region_ids:
            issues.append(_unknown(f"{where}.area.region", g.area.region, region_ids, "region"))
        if g.csv is None and g.area is None and not region_ids:
            issues.append(
                Issue(where, "needs 'regions', 'area' or 'csv' (the scenario has no regions)", g.id)
            )
        del gi
    issues += _duplicates(names, "sites")
    known_sites = set(names)
    tier_count = Counter(tiers)
    located = {x.id for x in s.sites if x.location is not None} | (known_sites - {x.id for x in s.sites})
    for x in s.sites:
        if x.region is not None and x.region not in region_ids:
            issues.append(_unknown(f"sites[{x.id}].region", x.region, region_ids, "region"))
    for k, link in enumerate(s.links):
        where = f"links[{k}]"
        for end in ("src", "dst"):
            v = getattr(link, end)
            if v not in known_sites:
                issues.append(_unknown(f"{where}.{end}", v, known_sites, "site"))
        if link.src == link.dst:
            issues.append(Issue(f"{where}.dst", "a link cannot connect a site to itself", link.dst))
        both_known = link.src in known_sites and link.dst in known_sites
        if link.latency_ms is None and both_known and not (link.src in located and link.dst in located):
            issues.append(
                Issue(
                    f"{where}.latency_ms",
                    "is required when an endpoint has no location",
                    None,
                    has_value=False,
                )
            )
    for k, rule in enumerate(s.link_rules):
        for end in ("from_tier", "to_tier"):
            tier = getattr(rule, end)
            if tier_count[tier] == 0:
                issues.append(
                    Issue(f"link_rules[{k}].{end}", "no site has this tier", tier, severity="warning")
                )
    service_ids = [x.id for x in s.services]
    issues += _duplicates(service_ids, "services")
    for svc in s.services:
        if not any(tier_count[t] for t in svc.tiers):
            issues.append(
                Issue(
                    f"services[{svc.id}].tiers",
                    "no site has any of these tiers",
                    list(svc.tiers),
                    severity="warning",
                )
            )
    app_ids = [a.id for a in s.applications]
    issues += _duplicates(app_ids, "applications")
    for a in s.applications:
        issues += _check_app(a, set(service_ids), f"applications[{a.id}]")
    issues += _duplicates([g.id for g in s.device_groups], "device_groups")
    for dg in s.device_groups:
        issues += _check_group(s, dg, base_dir, known_sites, tier_count, region_ids, app_ids)
    issues += _check_failures(s, known_sites, region_ids)
    return sorted(issues, key=lambda i: i.severity != "error")


def _check_group(
    s: Scenario,
    g: DeviceGroup,
    base_dir: Path,
    known_sites: set[str],
    tier_count: Counter[str],
    region_ids: list[str],
    app_ids: list[str],
) -> list[Issue]:
    where = f"device_groups[{g.id}]"
    issues: list[Issue] = []
    if g.application is not None and g.application not in app_ids:
        issues.append(_unknown(f"{where}.application", g.application, app_ids, "application"))
    if g.application is not None and g.arrival is None:
        issues.append(
            Issue(f"{where}.arrival", "is required when the group runs an application", None, has_value=False)
        )
    if g.application is None and g.arrival is not None:
        issues.append(
            Issue(f"{where}.application", "is required when the group sends requests", None, has_value=False)
        )
    pl = g.placement
    if pl.around is not None:
        if pl.around.tier is not None and tier_count[pl.around.tier] == 0:
            issues.append(Issue(f"{where}.placement.around.tier", "no site has this tier", pl.around.tier))
        for x in pl.around.sites or ():
            if x not in known_sites:
                issues.append(_unknown(f"{where}.placement.around.sites", x, known_sites, "site"))
    if pl.area is not None and pl.area.region is not None and pl.area.region not in region_ids:
        issues.append(_unknown(f"{where}.placement.area.region", pl.area.region, region_ids, "region"))
    if pl.csv is not None:
        issues += _check_file(base_dir, pl.csv, f"{where}.placement.csv")
        if not issues:
            try:
                lat, _ = read_positions(base_dir / pl.csv, f"{where}.placement.csv")
            except ScenarioError as e:
                issues += e.issues
            else:
                if len(lat) != g.count:
                    issues.append(
                        Issue(f"{where}.count", f"must equal the number of CSV rows ({len(lat)})", g.count)
                    )
    if tier_count[g.access.tier] == 0:
        issues.append(
            Issue(f"{where}.access.tier", "no site has this tier: devices reach nothing", g.access.tier)
        )
    if g.access.assign == "home" and pl.around is None:
        issues.append(Issue(f"{where}.access.assign", "'home' needs placement.around", "home"))
    if g.arrival is not None and g.arrival.process == "trace":
        issues += _check_file(base_dir, g.arrival.file, f"{where}.arrival.file")
    if g.mobility is not None and g.mobility.model == "trace":
        if g.mobility.trace is None:
            issues.append(
                Issue(f"{where}.mobility.trace", "is required for model 'trace'", None, has_value=False)
            )
        else:
            issues += _check_file(base_dir, g.mobility.trace, f"{where}.mobility.trace")
    return issues


def _check_failures(s: Scenario, known_sites: set[str], region_ids: list[str]) -> list[Issue]:
    issues: list[Issue] = []
    domains = {x.failure_domain for x in s.sites if x.failure_domain} | {
        g.failure_domain for g in s.site_groups if g.failure_domain
    }
    domains |= set(region_ids) | {x.region for x in s.sites if x.region}
    for k, fc in enumerate(s.failures.classes):
        for x in fc.sites or ():
            if x not in known_sites:
                issues.append(_unknown(f"failures.classes[{k}].sites", x, known_sites, "site"))
    for k, cf in enumerate(s.failures.correlated):
        if cf.region is not None and cf.region not in region_ids:
            issues.append(_unknown(f"failures.correlated[{k}].region", cf.region, region_ids, "region"))
        if cf.failure_domain is not None and cf.failure_domain not in domains:
            issues.append(
                _unknown(f"failures.correlated[{k}].failure_domain", cf.failure_domain, domains, "domain")
            )
    for k, ev in enumerate(s.events):
        for x in ev.sites or ():
            if x not in known_sites:
                issues.append(_unknown(f"events[{k}].sites", x, known_sites, "site"))
        if ev.region is not None and ev.region not in region_ids:
            issues.append(_unknown(f"events[{k}].region", ev.region, region_ids, "region"))
        if ev.failure_domain is not None and ev.failure_domain not in domains:
            issues.append(_unknown(f"events[{k}].failure_domain", ev.failure_domain, domains, "domain"))
    return issues

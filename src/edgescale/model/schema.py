"""The scenario: a declarative description of an edge system.

A scenario describes *groups*, not rows: site groups and device groups are expanded by
:func:`edgescale.model.arrays.compile_scenario` into :class:`~edgescale.model.arrays.SystemArrays`.
Units are in field names. Every field says which engine consumes it (``x-used-by`` in the JSON
Schema) or that it is reserved for a later engine (``x-reserved``).

Validation happens in two phases: the pydantic models here check local values (types, ranges,
unknown keys); :mod:`edgescale.model.validate` checks cross-references (ids, DAGs, capacities).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

SCHEMA_VERSION = 1
TIERS: tuple[str, ...] = ("device", "edge", "aggregation", "cloud")
Tier = Literal["device", "edge", "aggregation", "cloud"]
ServingTier = Literal["edge", "aggregation", "cloud"]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"

Id = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=128)]


def F(default: Any = ..., *, used_by: str | None = None, reserved: bool = False, **kw: Any) -> Any:  # noqa: N802
    """A pydantic Field that records which engine consumes it (or that it is reserved)."""
    extra: dict[str, Any] = {}
    if reserved:
        extra["x-reserved"] = True
    if used_by:
        extra["x-used-by"] = used_by.split(",")
    return Field(default, json_schema_extra=extra or None, **kw)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class Location(_Model):
    """A point on the Earth (WGS84 degrees)."""

    lat: float = F(used_by="compile,report", ge=-90.0, le=90.0, description="Latitude, degrees.")
    lon: float = F(used_by="compile,report", ge=-180.0, le=180.0, description="Longitude, degrees.")


class PowerModel(_Model):
    """Linear power model: ``idle_w + (peak_w - idle_w) * utilization``."""

    idle_w: float = F(used_by="analyze,simulate,optimize", ge=0.0)
    peak_w: float = F(used_by="analyze,simulate,optimize", ge=0.0)

    @model_validator(mode="after")
    def _peak_at_least_idle(self) -> PowerModel:
        if self.peak_w < self.idle_w:
            raise ValueError(f"peak_w must be >= idle_w (got peak_w={self.peak_w}, idle_w={self.idle_w})")
        return self


class DvfsLevel(_Model):
    """One CPU frequency level and the site's power at full load there."""

    frequency_ghz: float = F(used_by="optimize", gt=0.0)
    peak_w: float = F(used_by="optimize", ge=0.0)


class Cost(_Model):
    """Money: opening a site and using its cores."""

    fixed_per_hour: float = F(0.0, used_by="optimize,analyze", ge=0.0)
    per_core_hour: float = F(0.0, used_by="optimize,analyze", ge=0.0)


class _Resources(_Model):
    cpu_cores: float = F(0.0, used_by="compile", ge=0.0, description="Cores available to services.")
    cpu_speed: float = F(1.0, used_by="compile", gt=0.0, description="Speed relative to the reference core.")
    memory_gb: float = F(0.0, used_by="compile", ge=0.0)
    storage_gb: float = F(0.0, used_by="compile", ge=0.0)
    accelerators: int = F(0, used_by="compile", ge=0)
    cache_gb: float = F(
        0.0,
        used_by="compile",
        ge=0.0,
        description="Content cache size: floor(1000 cache_gb / content.item_size_mb) catalogue items.",
    )
    dvfs_levels: tuple[DvfsLevel, ...] = F((), used_by="optimize")
    power: PowerModel | None = F(None, used_by="compile")
    cost: Cost | None = F(None, used_by="compile")
    owner: str | None = F(None, used_by="compile", description="Operator or owner (administrative domain).")
    failure_domain: str | None = F(
        None, used_by="compile", description="Correlated-failure group; default: the site's region."
    )
    labels: dict[str, str | int | float | bool | None] = F(
        {}, used_by="operate,report", description="Free-form labels (affinity, reports)."
    )


class Site(_Resources):
    """One site (node) of the system."""

    id: Id = F(used_by="compile")
    tier: Tier = F(used_by="compile")
    location: Location | None = F(None, used_by="compile")
    region: str | None = F(None, used_by="compile")


class Area(_Model):
    """A disk on the Earth's surface, or a named region."""

    region: str | None = F(None, used_by="compile")
    center: Location | None = F(None, used_by="compile")
    radius_km: float | None = F(None, used_by="compile", gt=0.0)

    @model_validator(mode="after")
    def _one_way(self) -> Area:
        if (self.region is None) == (self.center is None):
            raise ValueError("give exactly one of 'region' or 'center'")
        if self.center is not None and self.radius_km is None:
            raise ValueError("'center' needs 'radius_km'")
        return self


class Region(_Model):
    """A geographic region: the default failure domain of its sites."""

    id: Id = F(used_by="compile")
    center: Location = F(used_by="compile")
    radius_km: float = F(used_by="compile", gt=0.0)
    weight: float = F(1.0, used_by="compile", gt=0.0, description="Share of generated sites and devices.")


class SiteGroup(_Resources):
    """Many similar sites, generated: spread over regions or read from a CSV of positions."""

    id: Id = F(used_by="compile", description="Prefix; sites are named '<id>-<k>' (k from 1).")
    tier: Tier = F(used_by="compile")
    count: int | None = F(None, used_by="compile", ge=1, description="Number of sites (not with 'csv').")
    regions: tuple[str, ...] | None = F(None, used_by="compile", description="Regions to spread over.")
    area: Area | None = F(None, used_by="compile")
    csv: str | None = F(None, used_by="compile", description="CSV of site positions (relative to this file).")
    id_column: str | None = F(None, used_by="compile", description="CSV column that names each site.")

    @model_validator(mode="after")
    def _one_layout(self) -> SiteGroup:
        ways = sum(x is not None for x in (self.regions, self.area, self.csv))
        if ways > 1:
            raise ValueError("give at most one of 'regions', 'area', 'csv'")
        if self.csv is None and self.count is None:
            raise ValueError("'count' is required unless 'csv' is given")
        if self.csv is not None and self.count is not None:
            raise ValueError("'count' comes from the CSV; remove it or remove 'csv'")
        return self


class Link(_Model):
    """A bidirectional link between two sites.

    With ``queueing: fifo`` requests queue for the link's transmission: one FIFO server per direction,
    serving each request message in ``request_kb * 8 / bandwidth_mbps`` ms (M/D/1-like queues; the twin
    simulates them, analyze solves each direction as an M/G/1 queue). A route hop whose path crosses several
    such links queues at one of them only, its bottleneck (the least bandwidth, on ties the one nearest the
    hop's end; the others stay pure delays);
    responses and the access links are pure delays.
    """

    src: str = F(used_by="compile")
    dst: str = F(used_by="compile")
    latency_ms: float | None = F(
        None, used_by="compile", ge=0.0, description="One-way; default from geodesic distance."
    )
    bandwidth_mbps: float | None = F(None, used_by="compile", gt=0.0, description="Default: unlimited.")
    loss: float = F(0.0, used_by="compile", ge=0.0, lt=1.0)
    availability: float = F(1.0, used_by="compile", gt=0.0, le=1.0)
    medium: Literal["wired", "wireless"] = F("wired", used_by="compile")
    parallel_links: int = F(1, used_by="compile", ge=1, description="Parallel links merged into this one.")
    queueing: Literal["none", "fifo"] = F(
        "none",
        used_by="analyze,simulate",
        description="'fifo': requests queue for the transmission, one FIFO server per direction (needs "
        "bandwidth_mbps); 'none': a pure delay (propagation plus transmission).",
    )

    @model_validator(mode="after")
    def _queueing_needs_bandwidth(self) -> Link:
        if self.queueing == "fifo" and self.bandwidth_mbps is None:
            raise ValueError(
                "queueing 'fifo' needs bandwidth_mbps: set it, or use queueing 'none' (an unlimited link has "
                "no transmission to queue for)"
            )
        return self


class LinkRule(_Model):
    """Generated links: each site of ``from_tier`` to its ``nearest`` sites of ``to_tier``, or a full mesh."""

    from_tier: Tier = F(used_by="compile")
    to_tier: Tier = F(used_by="compile")
    kind: Literal["nearest", "mesh"] = F("nearest", used_by="compile")
    nearest: int = F(1, used_by="compile", ge=1)
    base_latency_ms: float = F(0.0, used_by="compile", ge=0.0, description="Added to the propagation delay.")
    km_per_ms: float = F(
        200.0, used_by="compile", gt=0.0, description="Propagation speed (fibre: 200 km/ms)."
    )
    route_factor: float = F(1.5, used_by="compile", ge=1.0, description="Path length over geodesic distance.")
    bandwidth_mbps: float | None = F(None, used_by="compile", gt=0.0)
    loss: float = F(0.0, used_by="compile", ge=0.0, lt=1.0)
    availability: float = F(1.0, used_by="compile", gt=0.0, le=1.0)
    medium: Literal["wired", "wireless"] = F("wired", used_by="compile")

    @model_validator(mode="after")
    def _mesh_same_tier(self) -> LinkRule:
        if self.kind == "mesh" and self.from_tier != self.to_tier:
            raise ValueError("a 'mesh' rule links one tier: from_tier must equal to_tier")
        return self


class Service(_Model):
    """A deployable service (container or function)."""

    id: Id = F(used_by="compile")
    work_ms: float = F(used_by="compile", gt=0.0, description="Mean CPU time per request on a speed-1 core.")
    work_distribution: Literal["exponential", "deterministic", "general"] = F(
        "exponential", used_by="compile"
    )
    work_scv: float | None = F(
        None, used_by="compile", ge=0.0, description="Squared coefficient of variation, for 'general'."
    )
    cpu_cores: float = F(1.0, used_by="compile", gt=0.0, description="Cores one replica reserves.")
    memory_mb: float = F(0.0, used_by="compile", ge=0.0)
    storage_gb: float = F(0.0, used_by="compile", ge=0.0)
    image_mb: float = F(0.0, used_by="compile", ge=0.0, description="Image size: cold-start pull time.")
    accelerator: bool = F(False, used_by="compile", description="Needs an accelerator on its site.")
    stateful: bool = F(False, used_by="compile")
    state_mb: float = F(0.0, used_by="compile", ge=0.0, description="State moved on migration.")
    min_replicas: int = F(1, used_by="compile", ge=1)
    max_replicas: int | None = F(None, used_by="compile", ge=1)
    tiers: tuple[ServingTier, ...] = F(
        ("edge", "aggregation", "cloud"), used_by="compile", min_length=1, description="Tiers allowed."
    )

    @model_validator(mode="after")
    def _check(self) -> Service:
        if self.max_replicas is not None and self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas must be >= min_replicas (got {self.max_replicas} < {self.min_replicas})"
            )
        if self.work_distribution == "general" and self.work_scv is None:
            raise ValueError("work_distribution 'general' needs work_scv")
        return self


class Stage(_Model):
    """One stage of an application DAG."""

    service: str = F(used_by="compile")
    after: tuple[str, ...] | None = F(
        None, used_by="compile", description="Predecessor services; default: the previous stage ([] = entry)."
    )
    request_kb: float = F(1.0, used_by="compile", ge=0.0, description="Message size into this stage.")


class Slo(_Model):
    """Service-level objectives of an application."""

    latency_ms: float | None = F(None, used_by="analyze,simulate,optimize", gt=0.0)
    percentile: float = F(95.0, used_by="analyze,simulate,optimize", gt=0.0, lt=100.0)
    availability: float | None = F(None, used_by="analyze,optimize", gt=0.0, lt=1.0)


class Application(_Model):
    """An application: a DAG of services and its SLOs."""

    id: Id = F(used_by="compile")
    stages: tuple[Stage, ...] = F(used_by="compile", min_length=1)
    response_kb: float = F(1.0, used_by="compile", ge=0.0, description="Response size back to the device.")
    slo: Slo | None = F(None, used_by="compile")
    timeout_ms: float | None = F(
        None,
        used_by="simulate",
        gt=0.0,
        description="Devices give up on an attempt after this long (none: wait).",
    )
    max_retries: int = F(0, used_by="simulate", ge=0, description="Attempts resent at once after a timeout.")
    content_share: float = F(
        0.0,
        used_by="optimize,simulate",
        ge=0.0,
        le=1.0,
        description="Share of requests for catalog content (caching); the twin looks them up in the first "
        "caching site on their route, and a hit is served there.",
    )


class ContentCatalog(_Model):
    """Content items for caching. Item n (0 the most popular) is asked with probability proportional to
    1 / (n + 1) ** zipf_alpha, independently for every content request (independent reference model).
    In the twin, a scenario caches when it has this catalogue, sites with cache_gb > 0 and applications
    with content_share > 0: a content request is looked up when it leaves the first stage of its route
    placed at a caching site; a hit returns from there (the later stages, e.g. the origin, are skipped), a
    miss goes on. policies.caching chooses lru (default: exact least recently used, starting empty) or
    static (the plan's cache entry for the site, else the params' items, else its most popular items).
    Results report hits per site with Che's approximation (LRU) or the exact static hit ratio."""

    items: int = F(used_by="optimize,simulate", ge=1)
    item_size_mb: float = F(used_by="optimize,simulate", gt=0.0)
    zipf_alpha: float = F(0.8, used_by="optimize,simulate", ge=0.0)


class Poisson(_Model):
    process: Literal["poisson"] = F(used_by="compile")
    rate_per_s: float = F(used_by="compile", gt=0.0, description="Per device.")


class Mmpp(_Model):
    """Markov-modulated Poisson: phase k has rate ``rates_per_s[k]`` for an exponential sojourn."""

    process: Literal["mmpp"] = F(used_by="compile")
    rates_per_s: tuple[float, ...] = F(used_by="compile", min_length=2)
    mean_sojourn_s: tuple[float, ...] = F(used_by="compile", min_length=2)

    @model_validator(mode="after")
    def _same_length(self) -> Mmpp:
        if len(self.rates_per_s) != len(self.mean_sojourn_s):
            raise ValueError("rates_per_s and mean_sojourn_s must have the same length")
        if any(r < 0 for r in self.rates_per_s) or any(s <= 0 for s in self.mean_sojourn_s):
            raise ValueError("rates must be >= 0 and sojourns > 0")
        if max(self.rates_per_s) <= 0:
            raise ValueError("at least one phase rate must be > 0")
        return self


class Diurnal(_Model):
    """Poisson with a periodic rate profile: ``rate_per_s * profile[k]`` in slot k."""

    process: Literal["diurnal"] = F(used_by="compile")
    rate_per_s: float = F(used_by="compile", gt=0.0, description="Mean rate per device.")
    profile: tuple[float, ...] = F(used_by="compile", min_length=1, description="Relative rate per slot.")
    period_s: float = F(86400.0, used_by="compile", gt=0.0)

    @model_validator(mode="after")
    def _positive_profile(self) -> Diurnal:
        if any(p < 0 for p in self.profile) or sum(self.profile) <= 0:
            raise ValueError("profile values must be >= 0 with a positive sum")
        return self


class TokenBucket(_Model):
    """Poisson demand shaped by a token bucket (rate, burst): conforming to ``burst + rate*t``."""

    process: Literal["token_bucket"] = F(used_by="compile")
    rate_per_s: float = F(used_by="compile", gt=0.0)
    burst: float = F(used_by="compile", ge=1.0, description="Bucket depth, requests.")


class Trace(_Model):
    """Replay a CSV of request times (column ``t_s``, seconds, non-decreasing); see docs/formats.md."""

    process: Literal["trace"] = F(used_by="compile")
    file: str = F(used_by="compile")
    loop: bool = F(True, used_by="simulate")


Arrival = Annotated[Poisson | Mmpp | Diurnal | TokenBucket | Trace, Field(discriminator="process")]


class Radio(_Model):
    tx_w: float = F(1.0, used_by="optimize,simulate", ge=0.0)
    rx_w: float = F(0.5, used_by="optimize,simulate", ge=0.0)
    idle_w: float = F(0.05, used_by="optimize,simulate", ge=0.0)
    uplink_mbps: float = F(20.0, used_by="optimize,simulate", gt=0.0)
    downlink_mbps: float = F(50.0, used_by="optimize,simulate", gt=0.0)


class DeviceSpec(_Model):
    """The device itself: for offloading decisions and device energy."""

    cpu_cores: float = F(1.0, used_by="optimize", gt=0.0)
    cpu_speed: float = F(0.25, used_by="optimize", gt=0.0)
    power: PowerModel | None = F(None, used_by="optimize,simulate")
    radio: Radio | None = F(None, used_by="optimize,simulate")


class Access(_Model):
    """How devices reach the system: the nearest site of ``tier`` (or the site they were placed around)."""

    tier: ServingTier = F("edge", used_by="compile")
    assign: Literal["nearest", "home"] = F("nearest", used_by="compile")
    latency_ms: float | None = F(
        None, used_by="compile", ge=0.0, description="One-way; default base + distance-based."
    )
    base_latency_ms: float = F(1.0, used_by="compile", ge=0.0)
    km_per_ms: float = F(200.0, used_by="compile", gt=0.0)
    bandwidth_mbps: float | None = F(None, used_by="compile", gt=0.0)
    medium: Literal["wired", "wireless"] = F("wireless", used_by="compile")


class Around(_Model):
    """Devices spread around the sites of a tier (or named sites)."""

    tier: Tier | None = F(None, used_by="compile")
    sites: tuple[str, ...] | None = F(None, used_by="compile")
    radius_km: float = F(1.0, used_by="compile", gt=0.0)
    spread: Literal["even", "random"] = F("even", used_by="compile")

    @model_validator(mode="after")
    def _one_way(self) -> Around:
        if (self.tier is None) == (self.sites is None):
            raise ValueError("give exactly one of 'tier' or 'sites'")
        return self


class Placement(_Model):
    """Where a device group is: around sites, in an area, or at CSV positions."""

    around: Around | None = F(None, used_by="compile")
    area: Area | None = F(None, used_by="compile")
    csv: str | None = F(None, used_by="compile", description="CSV with Latitude/Longitude columns.")

    @model_validator(mode="after")
    def _one_way(self) -> Placement:
        if sum(x is not None for x in (self.around, self.area, self.csv)) != 1:
            raise ValueError("give exactly one of 'around', 'area', 'csv'")
        return self


class Mobility(_Model):
    """How devices move."""

    model: Literal["static", "random_waypoint", "trace"] = F("static", used_by="simulate")
    speed_mps: tuple[float, float] = F((0.5, 1.5), used_by="simulate", description="Min and max speed.")
    pause_s: float = F(0.0, used_by="simulate", ge=0.0)
    trace: str | None = F(None, used_by="simulate", description="CSV: t_s, device, lat, lon.")


class DeviceGroup(_Model):
    """Devices that behave alike: count, where, which application, how they send."""

    id: Id = F(used_by="compile")
    count: int = F(used_by="compile", ge=1)
    application: str | None = F(None, used_by="compile", description="Required unless the group is idle.")
    placement: Placement = F(used_by="compile")
    arrival: Arrival | None = F(None, used_by="compile")
    access: Access = F(Access(), used_by="compile")
    device: DeviceSpec | None = F(None, used_by="optimize,simulate")
    mobility: Mobility | None = F(None, used_by="simulate")


class FailureClass(_Model):
    """Independent failures of every site in a tier (or of named sites)."""

    tier: Tier | None = F(None, used_by="compile")
    sites: tuple[str, ...] | None = F(None, used_by="compile")
    mtbf_h: float = F(used_by="compile", gt=0.0)
    mttr_h: float = F(used_by="compile", gt=0.0)
    distribution: Literal["exponential", "weibull"] = F("exponential", used_by="simulate")
    weibull_shape: float = F(1.0, used_by="simulate", gt=0.0)

    @model_validator(mode="after")
    def _one_way(self) -> FailureClass:
        if (self.tier is None) == (self.sites is None):
            raise ValueError("give exactly one of 'tier' or 'sites'")
        return self


class CorrelatedFailure(_Model):
    """A whole region or failure domain fails together."""

    region: str | None = F(None, used_by="compile")
    failure_domain: str | None = F(None, used_by="compile")
    mtbf_h: float = F(used_by="compile", gt=0.0)
    mttr_h: float = F(used_by="compile", gt=0.0)

    @model_validator(mode="after")
    def _one_way(self) -> CorrelatedFailure:
        if (self.region is None) == (self.failure_domain is None):
            raise ValueError("give exactly one of 'region' or 'failure_domain'")
        return self


class Failures(_Model):
    classes: tuple[FailureClass, ...] = F((), used_by="compile")
    correlated: tuple[CorrelatedFailure, ...] = F((), used_by="compile")
    overload_utilization: float | None = F(
        None,
        used_by="simulate",
        gt=0.0,
        le=1.0,
        description="A site whose utilization over a control epoch reaches this crashes (overload cascades).",
    )
    overload_restart_s: float = F(
        60.0, used_by="simulate", gt=0.0, description="An overloaded site's restart time."
    )
    link_mtbf_h: float | None = F(None, used_by="simulate", gt=0.0, description="Every link fails independently.")
    link_mttr_h: float | None = F(None, used_by="simulate", gt=0.0)


class ScheduledEvent(_Model):
    """E.g. ``{at_s: 600, action: fail, region: north, duration_s: 300}``."""

    at_s: float = F(used_by="simulate", ge=0.0)
    action: Literal["fail", "recover"] = F("fail", used_by="simulate")
    sites: tuple[str, ...] | None = F(None, used_by="compile")
    region: str | None = F(None, used_by="compile")
    failure_domain: str | None = F(None, used_by="compile")
    duration_s: float | None = F(None, used_by="simulate", gt=0.0)

    @model_validator(mode="after")
    def _one_target(self) -> ScheduledEvent:
        if sum(x is not None for x in (self.sites, self.region, self.failure_domain)) != 1:
            raise ValueError("give exactly one target: 'sites', 'region' or 'failure_domain'")
        return self


class PolicyChoice(_Model):
    """A policy by name with parameters; names are checked when an engine compiles the scenario."""

    name: str = F(used_by="simulate,operate")
    params: dict[str, Any] = F({}, used_by="simulate,operate")


class Policies(_Model):
    placement: PolicyChoice | None = F(None, used_by="compile")
    balancing: PolicyChoice | None = F(None, used_by="simulate,operate")
    autoscaling: PolicyChoice | None = F(None, used_by="simulate,operate")
    offloading: PolicyChoice | None = F(
        None,
        used_by="simulate,optimize",
        description="threshold or fixed. In the twin it decides at every epoch, per demand point of a device "
        "group with Poisson or diurnal arrivals that does not move, whether its tasks run on the devices "
        "(work_ms / device.cpu_speed, at device.power.peak_w, default 2 W) or over the network along the "
        "plan's routes (edge and cloud both follow the plan).",
    )
    failure_detection: PolicyChoice | None = F(
        None,
        used_by="simulate,operate",
        description="heartbeat-timeout (default, 5 s) or phi-accrual; in the twin it watches sites and, with "
        "failures.link_mtbf_h, links: traffic is rerouted only once a failure is suspected.",
    )
    caching: PolicyChoice | None = F(
        None, used_by="simulate,optimize", description="lru (default) or static; see ContentCatalog."
    )


class SimulationSettings(_Model):
    """Defaults for ``edgescale simulate`` (the command line overrides them)."""

    duration_s: float = F(3600.0, used_by="simulate", gt=0.0)
    warmup_s: float = F(0.0, used_by="simulate", ge=0.0)
    replications: int = F(1, used_by="simulate", ge=1)
    epoch_s: float = F(10.0, used_by="simulate", gt=0.0)
    heartbeat_interval_s: float = F(
        1.0,
        used_by="simulate",
        gt=0.0,
        description="Sites send heartbeats to the failure detector this often.",
    )
    image_pull_mbps: float = F(
        100.0,
        used_by="simulate",
        gt=0.0,
        description="Bandwidth for image pulls: a cold start takes image_mb*8/this.",
    )


class Scenario(_Model):
    """A whole edge system: topology, services, applications, workloads, failures, policies."""

    schema_version: Literal[1] = F(used_by="compile")
    name: str = F(used_by="report", min_length=1)
    description: str = F("", used_by="report")
    seed: int = F(0, used_by="compile", ge=0, description="Seed of every generator in this file.")
    regions: tuple[Region, ...] = F((), used_by="compile")
    sites: tuple[Site, ...] = F((), used_by="compile")
    site_groups: tuple[SiteGroup, ...] = F((), used_by="compile")
    links: tuple[Link, ...] = F((), used_by="compile")
    link_rules: tuple[LinkRule, ...] = F((), used_by="compile")
    services: tuple[Service, ...] = F((), used_by="compile")
    applications: tuple[Application, ...] = F((), used_by="compile")
    content: ContentCatalog | None = F(None, used_by="optimize,simulate")
    device_groups: tuple[DeviceGroup, ...] = F((), used_by="compile")
    failures: Failures = F(Failures(), used_by="compile")
    events: tuple[ScheduledEvent, ...] = F((), used_by="compile")
    policies: Policies = F(Policies(), used_by="compile")
    simulation: SimulationSettings = F(SimulationSettings(), used_by="simulate")
    metadata: dict[str, Any] = F({}, used_by="report", description="Free-form: source, licence, notes.")

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: str | None = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        """Equal when every field is equal (where the file was read from does not count)."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = BaseModel.__hash__

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in this scenario (CSV, traces) resolve against."""
        return self._base_dir

    @property
    def source(self) -> str | None:
        """The file this scenario was read from, if any."""
        return self._source

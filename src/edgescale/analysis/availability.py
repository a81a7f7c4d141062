"""Availability of sites and services from a scenario's failure models (used by analyze and optimize).

Sites fail independently by their failure classes (availability ``MTBF / (MTBF + MTTR)`` per matching
class) and together by region or failure domain (correlated failures). A service is available when some
site hosting it is up.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from edgescale.model.arrays import TIER_INDEX, SystemArrays
from edgescale.model.schema import Scenario

__all__ = ["service_availability", "site_availability"]

F64 = NDArray[np.float64]


def site_availability(s: Scenario, a: SystemArrays) -> tuple[F64, F64]:
    """Independent availability of each site and the availability of each failure domain."""
    site_av = np.ones(a.n_sites)
    pos = {n: i for i, n in enumerate(a.site_ids)}
    for fc in s.failures.classes:
        av = fc.mtbf_h / (fc.mtbf_h + fc.mttr_h)
        if fc.tier is not None:
            site_av[a.site_tier == TIER_INDEX[fc.tier]] *= av
        else:
            site_av[[pos[x] for x in fc.sites or ()]] *= av
    dom_av = np.ones(len(a.domain_ids))
    for cf in s.failures.correlated:
        av = cf.mtbf_h / (cf.mtbf_h + cf.mttr_h)
        if cf.region is not None and cf.region in a.region_ids:
            r = a.region_ids.index(cf.region)
            for d in np.unique(a.site_domain[a.site_region == r]):
                dom_av[d] *= av
        elif cf.failure_domain is not None and cf.failure_domain in a.domain_ids:
            dom_av[a.domain_ids.index(cf.failure_domain)] *= av
    return site_av, dom_av


def service_availability(a: SystemArrays, replicas: NDArray[np.int32], site_av: F64, dom_av: F64) -> F64:
    """Probability that some host of each service is up (domains fail together, sites independently)."""
    out = np.zeros(len(a.service_ids))
    for svc in range(len(a.service_ids)):
        hosts = np.flatnonzero(replicas[svc] > 0)
        down = 1.0
        for d in np.unique(a.site_domain[hosts]):
            in_d = hosts[a.site_domain[hosts] == d]
            down *= 1.0 - dom_av[d] * (1.0 - np.prod(1.0 - site_av[in_d]))
        out[svc] = 1.0 - down if len(hosts) else 0.0
    return out

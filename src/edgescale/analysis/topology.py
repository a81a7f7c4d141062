"""Graph analysis of a compiled system: connectivity, distances, cut points, resilience."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgescale.analysis.graphs import connectivity, resilience
from edgescale.model.arrays import SystemArrays
from edgescale.model.schema import TIERS

__all__ = ["graph_report"]


def graph_report(arrays: SystemArrays, *, resilience_steps: int = 20, seed: int = 0) -> dict[str, Any]:
    """Connectivity and a random-removal resilience curve of the site graph, as plain data.

    Devices are the demand points (weighted by their devices) when the scenario has workloads,
    else every site stands for one unit of demand. The curve gives, per step, the share of demand
    still reaching a site of each serving tier present.
    """
    a = arrays
    rep = connectivity(a.n_sites, a.link_src, a.link_dst, a.link_latency_ms, seed=seed)
    d = rep.distances
    out: dict[str, Any] = {
        "sites": rep.n_nodes,
        "links": rep.n_links,
        "components": rep.components,
        "largest_component": rep.largest_component,
        "connected": rep.connected,
        "distances": {k: _plain(v) for k, v in vars(d).items()},
        "articulation_points": [a.site_ids[int(i)] for i in rep.articulation_points[:50]],
        "articulation_point_count": len(rep.articulation_points),
        "bridge_count": len(rep.bridges),
        "edge_connectivity": rep.edge_connectivity,
        "node_connectivity": rep.node_connectivity,
        "connectivity_exact": rep.connectivity_exact,
        "notes": list(rep.notes),
    }
    if resilience_steps > 0 and a.n_sites > 1:
        nodes: np.ndarray = a.demand_site if len(a.demand_group) else np.arange(a.n_sites)
        weights = a.demand_devices.astype(np.float64) if len(a.demand_group) else np.ones(a.n_sites)
        present = [t for t in range(1, len(TIERS)) if np.any(a.site_tier == t)]
        curve = resilience(
            a.n_sites,
            a.link_src,
            a.link_dst,
            device_nodes=nodes,
            device_weights=weights,
            tier_of_node=a.site_tier.astype(np.int64),
            tiers=present,
            steps=resilience_steps,
            seed=seed,
        )
        out["resilience"] = {
            "remove": curve.remove,
            "strategy": curve.strategy,
            "fractions": curve.fractions.tolist(),
            "reach": {TIERS[int(t)]: curve.reach[:, k].tolist() for k, t in enumerate(curve.tiers)},
            "reach_all": curve.reach_all.tolist(),
            "giant_component": curve.giant_component.tolist(),
        }
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if hasattr(v, "__dict__"):
        return {k: _plain(x) for k, x in vars(v).items()}
    return v

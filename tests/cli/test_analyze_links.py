"""``edgescale analyze`` text output names the busiest queueing links and prints analyze's warnings."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from edgescale.cli.app import app
from edgescale.model.io import save
from tests.sim.test_link_queueing_parity import _shared_bottleneck


def test_analyze_text_shows_the_busiest_links_and_an_overloaded_one(tmp_path: Path) -> None:
    doc = _shared_bottleneck()
    save(doc, tmp_path / "ok.yaml")
    r = CliRunner().invoke(app, ["analyze", str(tmp_path / "ok.yaml")])
    assert r.exit_code == 0, r.output
    assert "link m-c (m -> c): 58.0% busy, mean wait 3.02 ms" in r.output  # 2.54 / 0.84 ms (M/G/1)
    doc["links"][2]["bandwidth_mbps"] = 5  # m -> c at rho 1.16
    save(doc, tmp_path / "hot.yaml")
    r = CliRunner().invoke(app, ["analyze", str(tmp_path / "hot.yaml")])
    assert "link m-c (m -> c): 116.0% busy, overloaded" in r.output
    assert "warning: links[2]" in r.output


def test_analyze_text_shows_expected_cache_hit_ratios(tmp_path: Path) -> None:
    from edgescale.analysis.caching import che_hit_ratio, zipf_popularity
    from tests.sim.test_caching_parity import _cdn_queues

    save(_cdn_queues("lru"), tmp_path / "cdn.yaml")
    r = CliRunner().invoke(app, ["analyze", str(tmp_path / "cdn.yaml")])
    assert r.exit_code == 0, r.output
    h = che_hit_ratio(zipf_popularity(1000, 0.8), 50)  # 50 of 1,000 Zipf-0.8 items, LRU
    assert "caches (lru, che): expected hit ratio " in r.output and f"{h:.1%}" in r.output

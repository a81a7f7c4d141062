"""Tests for edgescale.model.importers.eua (EUA sites and users -> scenario document)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgescale.errors import ScenarioError
from edgescale.model.importers.eua import MAX_LISTED, import_eua, read_points_csv
from edgescale.model.io import scenario_from_dict

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
EUA = SHARED / "eua"
SITES = EUA / "site-optus-melbCBD.csv"
USERS = EUA / "users-melbcbd-generated.csv"

needs_eua = pytest.mark.skipif(
    not (SITES.is_file() and USERS.is_file()), reason="EUA data not found at ../shared/data/eua"
)


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def _data_lines(path: Path) -> list[str]:
    """Non-blank lines after the header, read without the csv module."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [line for line in lines if line.strip()]


# -- real data ---------------------------------------------------------------------------------------


@needs_eua
@pytest.mark.needs_shared
def test_real_eua_files() -> None:
    doc, report = import_eua(SITES, USERS)
    site_ids = [line.split(",", 1)[0] for line in _data_lines(SITES)]
    assert (report.nodes, report.devices) == (len(site_ids), len(_data_lines(USERS)))
    assert (report.nodes, report.devices) == (125, 816)
    assert [s["id"] for s in doc["sites"]] == [f"bs-{i}" for i in site_ids]
    assert {s["tier"] for s in doc["sites"]} == {"edge"}
    first = doc["sites"][0]
    assert first["location"] == {"lat": -37.81517, "lon": 144.97476}
    assert first["labels"]["name"].startswith("Spring and Flinders")
    assert doc["device_groups"] == [{"id": "users", "count": 816, "placement": {"csv": str(USERS)}}]
    assert "EUA" in doc["metadata"]["source"]
    assert doc["metadata"]["import_report"] == report.to_dict()
    json.dumps(doc)
    scenario = scenario_from_dict(doc)  # the model accepts it, reading the users CSV itself
    assert len(scenario.sites) == 125


@needs_eua
@pytest.mark.needs_shared
def test_real_users_positions() -> None:
    lat, lon = read_points_csv(USERS)
    assert lat.shape == lon.shape == (816,)
    # Melbourne's CBD: a few km around (-37.81, 144.96)
    assert np.all(np.abs(lat + 37.81) < 0.1)
    assert np.all(np.abs(lon - 144.96) < 0.1)


# -- read_points_csv ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["Latitude,Longitude", "LATITUDE,LONGITUDE", "lat,lon", "Lat,Lng", "id,LONG,latitude"],
    ids=["title", "upper", "short", "mixed", "reordered"],
)
def test_column_names_ignore_case(tmp_path: Path, header: str) -> None:
    values = {"latitude": "1.5", "lat": "1.5", "longitude": "-2.5", "lon": "-2.5", "lng": "-2.5"}
    values |= {"long": "-2.5", "id": "x"}
    row = ",".join(values[h.lower()] for h in header.split(","))
    lat, lon = read_points_csv(_write(tmp_path, "p.csv", f"{header}\n{row}\n"))
    assert (lat.tolist(), lon.tolist()) == ([1.5], [-2.5])


def test_byte_order_mark_and_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", "Latitude,Longitude\n\n10,20\n  \n-10,-20\n", encoding="utf-8-sig")
    lat, lon = read_points_csv(path)
    assert lat.tolist() == [10.0, -10.0]
    assert lon.tolist() == [20.0, -20.0]


def test_missing_columns_are_all_reported(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        read_points_csv(_write(tmp_path, "p.csv", "x,y\n1,2\n"))
    assert [i.message for i in info.value.issues] == ["no latitude column", "no longitude column"]
    assert "p.csv: header: no latitude column (got ['x', 'y'])" in str(info.value)


def test_every_bad_row_is_listed(tmp_path: Path) -> None:
    text = "Latitude,Longitude\n1,2\nabc,3\n4,200\n95,\n5,6\n7\n"
    with pytest.raises(ScenarioError) as info:
        read_points_csv(_write(tmp_path, "p.csv", text))
    paths = [i.path for i in info.value.issues]
    assert paths == [
        "line 3, Latitude",
        "line 4, Longitude",
        "line 5, Latitude",
        "line 5, Longitude",
        "line 7, Longitude",
    ]
    assert "line 3, Latitude: must be a number in [-90, 90] (got 'abc')" in str(info.value)


def test_bad_rows_are_capped(tmp_path: Path) -> None:
    text = "lat,lon\n" + "x,1\n" * (MAX_LISTED + 15)
    with pytest.raises(ScenarioError) as info:
        read_points_csv(_write(tmp_path, "p.csv", text))
    assert len(info.value.issues) == MAX_LISTED + 1
    assert info.value.issues[-1].message == "... and 15 more bad values"


@pytest.mark.parametrize(
    ("content", "match"),
    [(None, "cannot read file"), ("", "file is empty"), (b"\xff\xfe\x00bad", "not a readable CSV")],
    ids=["missing", "empty", "binary"],
)
def test_unreadable_files(tmp_path: Path, content: str | bytes | None, match: str) -> None:
    path = tmp_path / "p.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ScenarioError, match=match):
        read_points_csv(path)


def test_header_only_gives_empty_arrays(tmp_path: Path) -> None:
    lat, lon = read_points_csv(_write(tmp_path, "p.csv", "lat,lon\n"))
    assert lat.shape == lon.shape == (0,)


# -- import_eua --------------------------------------------------------------------------------------

SITES_TEXT = "SITE_ID,LATITUDE,LONGITUDE,NAME,STATE\n7,-37.81,144.96,Flinders St,VIC\n7,-37.82,144.97,,VIC\n"
SITES_TEXT += "a b,-37.83,144.98,Odd id,VIC\n"


def test_small_files_exact_shape(tmp_path: Path) -> None:
    sites = _write(tmp_path, "sites.csv", SITES_TEXT)
    users = _write(tmp_path, "users.csv", "Latitude,Longitude\n-37.81,144.96\n-37.82,144.97\n")
    doc, report = import_eua(sites, users, tier="aggregation", name="tiny")
    assert doc["sites"] == [
        {
            "id": "bs-7",
            "tier": "aggregation",
            "location": {"lat": -37.81, "lon": 144.96},
            "labels": {"name": "Flinders St"},
        },
        {"id": "bs-7-2", "tier": "aggregation", "location": {"lat": -37.82, "lon": 144.97}},
        {
            "id": "bs-a_b",
            "tier": "aggregation",
            "location": {"lat": -37.83, "lon": 144.98},
            "labels": {"name": "Odd id"},
        },
    ]
    assert doc["device_groups"] == [{"id": "users", "count": 2, "placement": {"csv": str(users)}}]
    assert doc["name"] == "tiny"
    assert "links" not in doc
    assert (report.nodes, report.devices, report.links) == (3, 2, 0)
    assert any("repeated SITE_ID" in w for w in report.warnings)
    assert any("not allowed in ids" in w for w in report.warnings)
    assert any("access.tier to 'aggregation'" in w for w in report.warnings)
    doc["device_groups"][0]["access"] = {"tier": "aggregation"}  # as the warning says
    scenario_from_dict(doc, base_dir=tmp_path)


def test_csv_path_is_kept_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "sites.csv", SITES_TEXT)
    _write(tmp_path, "users.csv", "lat,lon\n1,2\n")
    monkeypatch.chdir(tmp_path)
    doc, _ = import_eua("sites.csv", "users.csv")
    assert doc["device_groups"][0]["placement"] == {"csv": "users.csv"}
    assert doc["name"] == "eua-sites"


@pytest.mark.parametrize(
    ("sites_text", "users_text", "kwargs", "match"),
    [
        ("LATITUDE,LONGITUDE\n1,2\n", "lat,lon\n1,2\n", {}, "no site id column"),
        ("SITE_ID,LATITUDE,LONGITUDE\n1,x,2\n", "lat,lon\n1,2\n", {}, r"sites.csv: line 2, LATITUDE"),
        (SITES_TEXT, "lat,lon\n", {}, "needs at least one user row"),
        (SITES_TEXT, "lat\n1\n", {}, "no longitude column"),
        (SITES_TEXT, "lat,lon\n1,2\n", {"tier": "fog"}, "tier: must be one of"),
    ],
    ids=["no-id", "bad-site", "no-users", "users-column", "tier"],
)
def test_bad_input(tmp_path: Path, sites_text: str, users_text: str, kwargs: dict, match: str) -> None:
    sites = _write(tmp_path, "sites.csv", sites_text)
    users = _write(tmp_path, "users.csv", users_text)
    with pytest.raises(ScenarioError, match=match):
        import_eua(sites, users, **kwargs)

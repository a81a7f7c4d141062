"""Import the EUA dataset: base-station sites and user positions as a plain scenario document.

The EUA dataset (Lai et al., "Optimal Edge User Allocation in Edge Computing with Variable Sized Vector Bin
Packing", ICSOC 2018) lists real base stations of Melbourne's CBD (``SITE_ID, LATITUDE, LONGITUDE, NAME,
...``, taken from the Australian Communications and Media Authority register) and generated user positions
(``Latitude, Longitude``). Placement and user-allocation papers use the sites as edge-server candidates and
the users as demand points; :func:`import_eua` does the same.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edgescale.errors import Issue, ScenarioError
from edgescale.model.importers.topology import TIERS, ImportReport, unique_ids

__all__ = ["EUA_LICENSE", "EUA_SOURCE", "import_eua", "read_points_csv"]

EUA_SOURCE = (
    "EUA dataset (Lai et al., ICSOC 2018), https://github.com/PhuLai/eua-dataset; "
    "site data from the Australian Communications and Media Authority register"
)
EUA_LICENSE = "MIT (EUA dataset); the ACMA register's own terms apply to the site data"

LAT_COLUMNS = ("latitude", "lat")
LON_COLUMNS = ("longitude", "lon", "lng", "long")
ID_COLUMNS = ("site_id", "id")
NAME_COLUMNS = ("name",)
MAX_LISTED = 20
"""Bad rows listed one by one in an error; the rest are counted."""

FloatArray = NDArray[np.float64]


def read_points_csv(path: str | Path) -> tuple[FloatArray, FloatArray]:
    """Read the latitude and longitude columns of a CSV file.

    Column names are matched ignoring case: ``Latitude``, ``LATITUDE`` or ``lat``; ``Longitude``, ``lon``,
    ``lng`` or ``long``. Blank lines are skipped.

    Parameters
    ----------
    path : str or Path
        The CSV file (UTF-8, with or without a byte-order mark).

    Returns
    -------
    lat, lon : ndarray of float
        Degrees, one entry per data row.

    Raises
    ------
    ScenarioError
        If the file cannot be read, lacks a latitude or longitude column, or has rows whose values are not
        numbers within [-90, 90] and [-180, 180]; every bad row is listed (the first 20, then a count).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "users.csv")
    ...     _ = open(p, "w").write("LATITUDE,Longitude\\n-37.81,144.96\\n\\n-37.82,144.97\\n")
    ...     lat, lon = read_points_csv(p)
    >>> lat.tolist(), lon.tolist()
    ([-37.81, -37.82], [144.96, 144.97])
    """
    header, rows = _read_table(Path(path))
    ilat, ilon = _columns(header, {"latitude": LAT_COLUMNS, "longitude": LON_COLUMNS}, str(path))
    return _coordinates(rows, header, ilat, ilon, str(path))


def import_eua(
    sites_csv: str | Path,
    users_csv: str | Path,
    *,
    tier: str = "edge",
    name: str | None = None,
) -> tuple[dict[str, Any], ImportReport]:
    """Read EUA base-station sites and user positions into a plain scenario document.

    Parameters
    ----------
    sites_csv : str or Path
        Sites with ``SITE_ID``, ``LATITUDE``, ``LONGITUDE`` and optionally ``NAME`` columns (any case).
    users_csv : str or Path
        User positions with ``Latitude`` and ``Longitude`` columns. The document refers to this path as
        given (relative paths resolve against the folder of the scenario file that holds the document).
    tier : str, optional
        Tier of the sites (default ``"edge"``: base stations host edge servers).
    name : str, optional
        Scenario name; default ``"eua-<sites file stem>"``.

    Returns
    -------
    document : dict
        ``schema_version``, ``name``, ``description``, ``sites`` (``bs-<SITE_ID>``, with ``labels.name``),
        one device group ``{"id": "users", "count": <rows>, "placement": {"csv": <users_csv>}}`` and
        ``metadata`` (source, licence, the report). No links: the model's link rules or a topology add them.
    report : ImportReport
        ``nodes`` is the number of sites and ``devices`` the number of users.

    Raises
    ------
    ScenarioError
        If a file cannot be read, a column is missing, or a row has bad values (every bad row listed).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     sites, users = os.path.join(d, "sites.csv"), os.path.join(d, "users.csv")
    ...     _ = open(sites, "w").write("SITE_ID,LATITUDE,LONGITUDE,NAME\\n7,-37.81,144.96,Flinders St\\n")
    ...     _ = open(users, "w").write("Latitude,Longitude\\n-37.81,144.96\\n-37.82,144.97\\n")
    ...     doc, report = import_eua(sites, users)
    >>> site = doc["sites"][0]
    >>> site["id"], site["tier"], site["location"], site["labels"]
    ('bs-7', 'edge', {'lat': -37.81, 'lon': 144.96}, {'name': 'Flinders St'})
    >>> doc["device_groups"][0]["count"], report.devices
    (2, 2)
    """
    if tier not in TIERS:
        raise ScenarioError([Issue("tier", f"must be one of {', '.join(TIERS)}", tier)])
    sites, warnings = _read_sites(Path(sites_csv), tier)
    users_lat, _ = read_points_csv(users_csv)
    if users_lat.size == 0:
        raise ScenarioError(
            [Issue("", "needs at least one user row", has_value=False)], source=str(users_csv)
        )
    if tier != "edge":
        warnings.append(
            f"sites are tier '{tier}' but devices reach tier 'edge' by default: "
            f"set device_groups[users].access.tier to '{tier}'"
        )
    if sites:
        warnings.append(f"{len(sites)} sites and no links: add links or link rules before network analysis")
    report = ImportReport(
        nodes=len(sites),
        raw_nodes=len(sites),
        components=len(sites),
        disconnected=len(sites) > 1,
        devices=int(users_lat.size),
        warnings=tuple(warnings),
    )
    doc: dict[str, Any] = {
        "schema_version": 1,
        "name": name or f"eua-{Path(sites_csv).stem}",
        "description": (
            f"Imported from {Path(sites_csv).name} and {Path(users_csv).name} (EUA dataset, MIT): "
            f"{len(sites)} base-station sites, {users_lat.size} users."
        ),
        "sites": sites,
        "device_groups": [
            {"id": "users", "count": int(users_lat.size), "placement": {"csv": str(users_csv)}}
        ],
        "metadata": {"source": EUA_SOURCE, "license": EUA_LICENSE, "import_report": report.to_dict()},
    }
    return doc, report


# -- helpers --------------------------------------------------------------------------------------------


def _read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) of each non-blank data row."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except OSError as e:
        raise ScenarioError(
            [Issue("", f"cannot read file: {e.strerror or e}", has_value=False)], str(path)
        ) from e
    except (UnicodeDecodeError, csv.Error) as e:
        raise ScenarioError([Issue("", f"not a readable CSV file: {e}", has_value=False)], str(path)) from e
    if not header:
        raise ScenarioError([Issue("header", "file is empty", has_value=False)], str(path))
    return header, rows


def _columns(header: list[str], wanted: dict[str, tuple[str, ...]], source: str) -> list[int]:
    lowered = [h.lower() for h in header]
    found, issues = [], []
    for role, names in wanted.items():
        index = next((lowered.index(n) for n in names if n in lowered), None)
        if index is None:
            issues.append(
                Issue("header", f"no {role} column", header, hint=f"name it one of {', '.join(names)}")
            )
        found.append(-1 if index is None else index)
    if issues:
        raise ScenarioError(issues, source)
    return found


def _coordinates(
    rows: list[tuple[int, list[str]]], header: list[str], ilat: int, ilon: int, source: str
) -> tuple[FloatArray, FloatArray]:
    lat, lon = np.empty(len(rows)), np.empty(len(rows))
    issues: list[Issue] = []
    bad = 0
    for k, (line, row) in enumerate(rows):
        for i, limit, out in ((ilat, 90.0, lat), (ilon, 180.0, lon)):
            value = _cell(row, i)
            x = _number(value)
            if not (-limit <= x <= limit):
                bad += 1
                if len(issues) < MAX_LISTED:
                    rule = f"must be a number in [-{limit:g}, {limit:g}]"
                    issues.append(Issue(f"line {line}, {header[i]}", rule, value))
            out[k] = x
    if issues:
        if bad > len(issues):
            issues.append(Issue("", f"... and {bad - len(issues)} more bad values", has_value=False))
        raise ScenarioError(issues, source)
    return lat, lon


def _cell(row: list[str], i: int) -> str | None:
    return row[i].strip() if i < len(row) else None


def _number(value: str | None) -> float:
    try:
        return float(value) if value is not None else math.nan
    except ValueError:
        return math.nan


def _read_sites(path: Path, tier: str) -> tuple[list[dict[str, Any]], list[str]]:
    header, rows = _read_table(path)
    ilat, ilon, iid = _columns(
        header, {"latitude": LAT_COLUMNS, "longitude": LON_COLUMNS, "site id": ID_COLUMNS}, str(path)
    )
    lowered = [h.lower() for h in header]
    iname = next((lowered.index(n) for n in NAME_COLUMNS if n in lowered), None)
    lat, lon = _coordinates(rows, header, ilat, ilon, str(path))
    raw_ids = [_cell(row, iid) or "" for _, row in rows]
    ids = unique_ids([f"bs-{r}" if r else None for r in raw_ids], [f"bs-line{line}" for line, _ in rows])
    sites = []
    for k, (_, row) in enumerate(rows):
        site: dict[str, Any] = {
            "id": ids[k],
            "tier": tier,
            "location": {"lat": float(lat[k]), "lon": float(lon[k])},
        }
        site_name = _cell(row, iname) if iname is not None else None
        if site_name:
            site["labels"] = {"name": site_name}
        sites.append(site)
    warnings = []
    duplicates = len(raw_ids) - len(set(raw_ids))
    if duplicates:
        warnings.append(f"{duplicates} repeated SITE_ID values: later rows got -2, -3 suffixes")
    changed = sum(1 for r, i in zip(raw_ids, ids, strict=True) if r and i != f"bs-{r}")
    if changed > duplicates:
        warnings.append(f"{changed - duplicates} SITE_ID values had characters not allowed in ids; replaced")
    return sites, warnings

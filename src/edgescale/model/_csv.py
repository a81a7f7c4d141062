"""Small CSV readers for positions and ids referenced from scenario files."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from edgescale.errors import Issue, ScenarioError
from edgescale.model._errors import suggest

LAT_NAMES = ("lat", "latitude")
LON_NAMES = ("lon", "lng", "long", "longitude")


@lru_cache(maxsize=32)
def _read_rows(path: str, mtime: float) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = tuple(h.strip() for h in next(reader, []))
        rows = tuple(tuple(r) for r in reader if any(c.strip() for c in r))
    return header, rows


def read_table(path: Path, where: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Header and rows of a CSV file; a missing or unreadable file is a ScenarioError at *where*."""
    try:
        return _read_rows(str(path), path.stat().st_mtime)
    except FileNotFoundError as e:
        hint = suggest(path.name, [c.name for c in path.parent.glob("*")]) if path.parent.is_dir() else ""
        raise ScenarioError([Issue(where, "file not found", str(path), hint)]) from e
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ScenarioError([Issue(where, f"cannot read CSV: {e}", str(path))]) from e


def find_column(header: tuple[str, ...], names: tuple[str, ...]) -> int | None:
    """Index of the first header matching one of *names*, ignoring case."""
    lowered = [h.lower() for h in header]
    for n in names:
        if n in lowered:
            return lowered.index(n)
    return None


def read_positions(path: Path, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude columns of a CSV (``lat``/``Latitude``/``LATITUDE``...), validated."""
    header, rows = read_table(path, where)
    ilat, ilon = find_column(header, LAT_NAMES), find_column(header, LON_NAMES)
    issues: list[Issue] = []
    if ilat is None or ilon is None:
        raise ScenarioError(
            [
                Issue(
                    where,
                    "CSV needs latitude and longitude columns",
                    list(header),
                    "e.g. 'Latitude,Longitude'",
                )
            ]
        )
    lat = np.empty(len(rows))
    lon = np.empty(len(rows))
    for k, row in enumerate(rows):
        try:
            lat[k], lon[k] = float(row[ilat]), float(row[ilon])
            if not (-90 <= lat[k] <= 90 and -180 <= lon[k] <= 180):
                raise ValueError
        except (ValueError, IndexError):
            if len(issues) < 20:
                issues.append(
                    Issue(f"{where} row {k + 2}", "needs a valid latitude and longitude", list(row))
                )
    if issues:
        raise ScenarioError(issues)
    if len(rows) == 0:
        raise ScenarioError([Issue(where, "CSV has no rows", str(path))])
    return lat, lon


def read_column(path: Path, column: str, where: str) -> list[str]:
    """One column of a CSV as strings."""
    header, rows = read_table(path, where)
    if column not in header:
        raise ScenarioError([Issue(where, "no such CSV column", column, suggest(column, list(header)))])
    i = header.index(column)
    return [r[i].strip() if i < len(r) else "" for r in rows]

"""Read and write scenario files (YAML or JSON), with every problem reported at once."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from edgescale.errors import Issue, ScenarioError
from edgescale.model._errors import issues_from_validation, suggest
from edgescale.model.schema import Scenario

__all__ = [
    "all_fields_sha256",
    "apply_overrides",
    "canonical_json",
    "dump_scenario",
    "load",
    "matches_scenario_sha256",
    "parse_document",
    "read_document",
    "save",
    "scenario_from_dict",
    "scenario_sha256",
    "write_atomic",
]


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects duplicate keys."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError as e:
            raise yaml.constructor.ConstructorError(
                None, None, f"unhashable key {key!r}", key_node.start_mark
            ) from e
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_document(text: str, *, source: str = "<input>", fmt: str | None = None) -> Any:
    """Parse YAML or JSON text into plain Python data.

    Raises
    ------
    ScenarioError
        When the text is not well-formed; the issue gives the line and column.
    """
    fmt = fmt or ("json" if source.endswith(".json") else "yaml")
    try:
        if fmt == "json":
            return json.loads(text)
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except json.JSONDecodeError as e:
        raise ScenarioError(
            [Issue(f"line {e.lineno}, column {e.colno}", f"invalid JSON: {e.msg}", has_value=False)], source
        ) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<document>"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ScenarioError([Issue(where, f"invalid YAML: {problem}", has_value=False)], source) from e
    except (ValueError, RecursionError) as e:  # e.g. deeply nested or huge numbers
        raise ScenarioError([Issue("<document>", f"cannot parse: {e}", has_value=False)], source) from e


def read_document(path: str | Path) -> Any:
    """Read a YAML or JSON file into plain data, with a clear error when it cannot be read."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        hint = suggest(p.name, [c.name for c in p.parent.glob("*")]) if p.parent.is_dir() else ""
        raise ScenarioError([Issue("<file>", "file not found", str(p), hint)], str(p)) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([Issue("<file>", f"cannot read: {e}", str(p))], str(p)) from e
    return parse_document(text, source=str(p))


_STEP = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def _split_path(path: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in _STEP.finditer(path)]


def apply_overrides(data: Any, overrides: Iterable[str], *, source: str | None = None) -> Any:
    """Apply ``PATH=VALUE`` overrides (what-if runs) to a parsed document, in place.

    ``PATH`` uses dots and brackets; a list item is named by index or by its ``id``, e.g.
    ``device_groups[cameras].arrival.rate_per_s=2``. ``VALUE`` is parsed as YAML.

    Examples
    --------
    >>> doc = {"services": [{"id": "api", "work_ms": 5}]}
    >>> apply_overrides(doc, ["services[api].work_ms=8"])["services"][0]["work_ms"]
    8
    """
    issues: list[Issue] = []
    for item in overrides:
        if "=" not in item:
            issues.append(Issue(f"--set {item}", "must look like PATH=VALUE", item))
            continue
        path, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        problem = _set_path(data, _split_path(path.strip()), value)
        if problem:
            issues.append(Issue(f"--set {path.strip()}", problem[0], value, problem[1]))
    if issues:
        raise ScenarioError(issues, source)
    return data


def _set_path(node: Any, steps: Sequence[str], value: Any) -> tuple[str, str] | None:
    if not steps:
        return ("empty path", "")
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(node, list):
            index = _list_index(node, step)
            if index is None:
                ids = [str(x.get("id")) for x in node if isinstance(x, dict) and "id" in x]
                return (f"no item '{step}'", suggest(step, ids))
            if last:
                node[index] = value
                return None
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[step] = value
                return None
            if step not in node:
                node[step] = {}
            node = node[step]
        else:
            return (f"cannot descend into {type(node).__name__} at '{step}'", "")
    return None


def _list_index(items: list[Any], step: str) -> int | None:
    for k, x in enumerate(items):
        if isinstance(x, dict) and str(x.get("id")) == step:
            return k
    if step.lstrip("-").isdigit() and -len(items) <= int(step) < len(items):
        return int(step) % len(items)
    return None


def scenario_from_dict(
    data: Any, *, source: str | None = None, base_dir: str | Path | None = None
) -> Scenario:
    """Validate plain data as a :class:`Scenario` (both phases), raising one error with every problem."""
    from edgescale.model.validate import check_references

    if not isinstance(data, dict):
        kind = "empty document" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(
            [Issue("<root>", "must be a mapping of scenario fields", kind, has_value=False)], source
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(issues_from_validation(e, data, Scenario), source) from e
    except (ValueError, TypeError, RecursionError) as e:
        raise ScenarioError([Issue("<root>", f"invalid: {e}", has_value=False)], source) from e
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    scenario._base_dir = base
    scenario._source = source
    issues = [i for i in check_references(scenario, base) if i.severity == "error"]
    if issues:
        raise ScenarioError(issues, source)
    return scenario


def load(path: str | Path, *, overrides: Iterable[str] = ()) -> Scenario:
    """Load and validate a scenario file (YAML or JSON).

    Parameters
    ----------
    path : str or Path
        The scenario file. Relative paths inside it (CSV, traces) resolve against its folder.
    overrides : iterable of str
        ``PATH=VALUE`` what-if overrides, applied before validation.

    Raises
    ------
    ScenarioError
        With every problem found, each as ``<file>: <path>: <rule> (got <value>); <hint>``.
    """
    p = Path(path)
    data = read_document(p)
    overrides = list(overrides)
    if overrides and isinstance(data, dict):
        apply_overrides(data, overrides, source=str(p))
    return scenario_from_dict(data, source=str(p), base_dir=p.parent)


def dump_scenario(scenario: Scenario) -> dict[str, Any]:
    """Plain data for a scenario, omitting fields left at their defaults."""
    data: dict[str, Any] = scenario.model_dump(mode="json", exclude_defaults=True)
    data["schema_version"] = scenario.schema_version
    return data


def canonical_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def scenario_sha256(scenario: Scenario) -> str:
    """SHA-256 of the scenario's canonical JSON, fields left at their defaults omitted.

    Plans and results record it to name the scenario they were made for.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.

    Returns
    -------
    str
        64 lowercase hex digits.

    Notes
    -----
    The digest is of ``canonical_json(scenario.model_dump(mode="json", exclude_defaults=True))``, at every
    depth (nested models, items of lists). So a field written equal to its default hashes as if it were
    omitted, a scenario read from YAML hashes as the same scenario built in Python, and a release that adds
    a field with a default (say ``links[].queueing: none``) leaves every existing scenario's digest as it
    was. The other side of that: changing a field's *default* does not change the digest.

    What is covered is the scenario document, not the files it names: a CSV of site or device positions
    (``site_groups[].csv``, ``device_groups[].placement.csv``) or an arrival or mobility trace counts by its
    path, and editing the file does not change the digest. Where the file was read from (``base_dir``) does not count.

    Until this rule, the digest was of every field, defaults included; :func:`matches_scenario_sha256`
    still accepts that one (see :func:`all_fields_sha256`).

    Examples
    --------
    >>> s = scenario_from_dict({"schema_version": 1, "name": "x"})
    >>> scenario_sha256(s) == scenario_sha256(scenario_from_dict({"schema_version": 1, "name": "x", "seed": 0}))
    True
    """
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def all_fields_sha256(scenario: Scenario) -> str:
    """The digest earlier edgescale versions recorded: canonical JSON of every field, defaults included.

    It changes whenever a release adds a field with a default, which is why :func:`scenario_sha256`
    replaced it; it is kept only to recognise plans and results written before that.
    """
    return hashlib.sha256(canonical_json(scenario.model_dump(mode="json")).encode()).hexdigest()


def matches_scenario_sha256(scenario: Scenario, digest: str) -> bool:
    """Whether *digest*, read from a plan or results file, names *scenario*.

    Accepts :func:`scenario_sha256` (what this version writes) and :func:`all_fields_sha256` (what versions
    before it wrote), so that files saved by an earlier version keep working for the same scenario.

    Examples
    --------
    >>> s = scenario_from_dict({"schema_version": 1, "name": "x"})
    >>> matches_scenario_sha256(s, scenario_sha256(s)), matches_scenario_sha256(s, all_fields_sha256(s))
    (True, True)
    >>> matches_scenario_sha256(s, "0" * 64)
    False
    """
    return digest == scenario_sha256(scenario) or digest == all_fields_sha256(scenario)


@functools.cache
def _new_file_mode() -> int:
    """``0o666`` less the process umask (read from /proc where possible: setting the umask is racy)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | Path, text: str, *, mode: int | None = None) -> None:
    """Write *text* to *path* through a temporary file and a rename: nothing half-written on failure.

    The file gets permission bits *mode* (e.g. ``0o600`` for secrets) set before it appears under its name;
    by default those of a newly created file (``0o666`` less the umask).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        os.fchmod(fd, _new_file_mode() if mode is None else mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_text(data: Any, path: str | Path) -> str:
    """Serialise plain data as JSON (``.json``) or YAML (anything else)."""
    if str(path).endswith(".json"):
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)


def save(scenario: Scenario | dict[str, Any], path: str | Path) -> None:
    """Write a scenario (or a plain scenario document) to YAML or JSON, atomically."""
    data = dump_scenario(scenario) if isinstance(scenario, Scenario) else scenario
    write_atomic(path, to_text(data, path))

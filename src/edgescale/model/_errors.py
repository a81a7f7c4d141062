"""Turn pydantic validation errors into edgescale :class:`~edgescale.errors.Issue` objects."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from edgescale.errors import Issue

_RULES: dict[str, str] = {
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "string_too_short": "must not be empty",
    "string_too_long": "is too long (at most {max_length} characters)",
    "finite_number": "must be a finite number",
    "missing": "is required",
}


def suggest(word: str, choices: Sequence[str]) -> str:
    """Return ``did you mean 'x'?`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def render_path(loc: Sequence[str | int], data: Any) -> str:
    """Render a location tuple as ``services[api].work_ms``, naming list items by their ``id``."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            label: str | int = part
            if isinstance(node, list) and 0 <= part < len(node):
                item = node[part]
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    label = item["id"]
                node = item
            else:
                node = None
            out += f"[{label}]"
        else:
            node = node.get(part) if isinstance(node, dict) else None
            out += f".{part}" if out else part
    return out


def _unwrap(annotation: Any) -> list[Any]:
    """Model classes reachable from an annotation (through Optional, tuple, Annotated, unions)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType, tuple, list, dict):
        found: list[Any] = []
        for arg in get_args(annotation):
            if arg is not Ellipsis:
                found.extend(_unwrap(arg))
        return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _model_at(
    root: type[BaseModel], loc: Sequence[str | int]
) -> tuple[type[BaseModel] | None, list[str | int]]:
    """The model class that owns the last element of *loc*, and *loc* without union tags."""
    current: type[BaseModel] | None = root
    clean: list[str | int] = []
    candidates: list[Any] = [root]
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(part, int):
            clean.append(part)
            continue
        if len(candidates) > 1:
            tagged = [m for m in candidates if _tag_of(m) == part]
            if tagged:
                candidates = tagged
                continue
        current = candidates[0] if candidates else None
        clean.append(part)
        if last or current is None:
            break
        field = current.model_fields.get(part)
        candidates = _unwrap(field.annotation) if field else []
    if len(candidates) == 1 and not isinstance(loc[-1] if loc else None, str):
        current = candidates[0]
    return current, clean


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("process")
    if field is None:
        return None
    args = get_args(field.annotation)
    return str(args[0]) if args else None


def issues_from_validation(err: ValidationError, data: Any, root: type[BaseModel]) -> list[Issue]:
    """Convert every pydantic error into an :class:`Issue` with a path, rule, value and hint."""
    issues: list[Issue] = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        owner, clean = _model_at(root, loc)
        path = render_path(clean, data)
        kind = e["type"]
        ctx = e.get("ctx") or {}
        value = e.get("input")
        hint = ""
        has_value = True
        if kind == "missing":
            message, has_value = "is required", False
        elif kind == "extra_forbidden":
            name = str(clean[-1]) if clean else ""
            parent, _ = _model_at(root, loc[:-1]) if len(loc) > 1 else (root, [])
            fields = list(parent.model_fields) if parent else []
            message = "unknown field"
            hint = suggest(name, fields) or (f"allowed: {', '.join(fields)}" if fields else "")
        elif kind == "literal_error":
            expected = str(ctx.get("expected", ""))
            message = f"must be one of {expected}"
            options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",")]
            hint = suggest(str(value), options)
        elif kind == "union_tag_invalid":
            tags = str(ctx.get("expected_tags", ""))
            message = f"unknown {ctx.get('discriminator', 'kind')} (one of {tags})"
            hint = suggest(str(ctx.get("tag", "")), [t.strip().strip("'") for t in tags.split(",")])
            value = ctx.get("tag", value)
        elif kind == "union_tag_not_found":
            message = f"needs {ctx.get('discriminator', 'a kind')}"
        elif kind == "string_pattern_mismatch":
            message = "must be an id: a letter or digit, then letters, digits, '_', '.', ':' or '-'"
        elif kind in ("too_short", "too_long"):
            message = f"must have {'at least' if kind == 'too_short' else 'at most'} "
            message += f"{ctx.get('min_length', ctx.get('max_length'))} item(s)"
        elif kind == "value_error":
            message = str(e["msg"]).removeprefix("Value error, ")
            has_value = False
        elif kind in _RULES:
            message = _RULES[kind].format(**ctx)
        else:
            message = str(e["msg"])
        if not isinstance(value, (int, float, str, bool, type(None))) and kind not in _RULES:
            has_value = has_value and kind not in ("value_error",)
        issues.append(Issue(path=path, message=message, value=value, hint=hint, has_value=has_value))
        del owner
    return issues

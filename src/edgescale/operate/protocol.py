"""Subjects and small helpers of the wire protocol (see ``docs/operate.md``)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["EVENTS", "JOIN", "agent_subject", "parse_agent_subject", "reply_error"]

JOIN = "es.join"
EVENTS = "es.events"
AGENT_PREFIX = "es.agent."
KINDS = ("hb", "status", "sync", "assign")


def agent_subject(agent_id: str, kind: str) -> str:
    """``es.agent.<id>.<kind>``.

    Examples
    --------
    >>> agent_subject("a-1f", "hb")
    'es.agent.a-1f.hb'
    >>> parse_agent_subject("es.agent.a-1f.hb")
    ('a-1f', 'hb')
    """
    return f"{AGENT_PREFIX}{agent_id}.{kind}"


def parse_agent_subject(subject: str) -> tuple[str, str] | None:
    """``(agent id, kind)`` of an agent subject, or ``None``."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != "es" or parts[1] != "agent" or parts[3] not in KINDS:
        return None
    return parts[2], parts[3]


def reply_error(message: str) -> bytes:
    """An (unsigned) error reply: ``{"error": message}``."""
    return json.dumps({"error": message}).encode()


def error_of(data: bytes) -> str | None:
    """The error of an error reply, else ``None``."""
    try:
        doc: Any = json.loads(data)
    except ValueError:
        return "reply is not JSON"
    if isinstance(doc, dict) and "error" in doc and "v" not in doc:
        return str(doc["error"])
    return None

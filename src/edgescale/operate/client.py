"""A small client of the controller's HTTP API (httpx), used by the CLI, tests and benchmarks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from edgescale.errors import ControlPlaneError

__all__ = ["ApiClient"]


class ApiClient:
    """Calls the controller API with the bearer token.

    Parameters
    ----------
    url : str
        ``http://host:port`` of the controller.
    token : str
        The API token (``cluster.json``'s ``api_token``).
    """

    def __init__(self, url: str, token: str, *, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s
        )

    @classmethod
    def from_dirs(cls, cluster_dir: Path, state_dir: Path | None = None) -> ApiClient:
        """From ``cluster.json`` and the controller's ``controller.json`` (its actual address)."""
        from edgescale.operate.config import load_cluster

        cfg = load_cluster(cluster_dir)
        url = cfg.api_url
        info = Path(state_dir or Path(cluster_dir) / "controller") / "controller.json"
        if info.exists():
            url = json.loads(info.read_text())["api_url"]
        return cls(url, cfg.api_token)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise ControlPlaneError(f"controller API {self.url}: {e}; is the controller running?") from e
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text
            raise ControlPlaneError(f"{method} {path}: {r.status_code}: {detail}")
        return r.json()

    def apply(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Create or update a deployment."""
        out: dict[str, Any] = self._call("PUT", f"/v1/deployments/{doc.get('name', '')}", json=doc)
        return out

    def get(self, name: str) -> dict[str, Any]:
        """A deployment's status."""
        out: dict[str, Any] = self._call("GET", f"/v1/deployments/{name}")
        return out

    def delete(self, name: str) -> dict[str, Any]:
        """Delete a deployment."""
        out: dict[str, Any] = self._call("DELETE", f"/v1/deployments/{name}")
        return out

    def deployments(self) -> list[dict[str, Any]]:
        """Every deployment's status."""
        out: list[dict[str, Any]] = self._call("GET", "/v1/deployments")
        return out

    def nodes(self) -> list[dict[str, Any]]:
        """Every node."""
        out: list[dict[str, Any]] = self._call("GET", "/v1/nodes")
        return out

    def replicas(self) -> list[dict[str, Any]]:
        """Every replica with its reported state."""
        out: list[dict[str, Any]] = self._call("GET", "/v1/replicas")
        return out

    def events(self, after: int = 0, kind: str | None = None) -> list[dict[str, Any]]:
        """Events after id *after*."""
        params: dict[str, Any] = {"after": after}
        if kind is not None:
            params["kind"] = kind
        out: list[dict[str, Any]] = self._call("GET", "/v1/events", params=params)
        return out

    def status(self) -> dict[str, Any]:
        """The summary ``operate status`` prints."""
        out: dict[str, Any] = self._call("GET", "/v1/status")
        return out

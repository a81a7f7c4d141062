"""The controller's HTTP API (FastAPI): deployments, nodes, replicas, events; bearer token on every call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException

from edgescale.errors import ScenarioError
from edgescale.operate.security import check_token

if TYPE_CHECKING:
    from edgescale.operate.controller import Controller

__all__ = ["make_app"]


def make_app(controller: Controller) -> FastAPI:
    """The API of *controller*; every route requires ``Authorization: Bearer <api token>``."""
    token = controller.cluster.api_token

    def auth(authorization: Annotated[str | None, Header()] = None) -> None:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not check_token(given.strip(), token):
            raise HTTPException(401, "missing or bad bearer token", headers={"WWW-Authenticate": "Bearer"})

    # async routes: they run on the controller's event loop, never in a thread (no locking needed)
    app = FastAPI(title="edgescale controller", dependencies=[Depends(auth)], docs_url=None, redoc_url=None)

    @app.get("/v1/deployments")
    async def list_deployments() -> list[dict[str, Any]]:
        return [controller.deployment_status(n) for n in sorted(controller.deployments)]

    @app.put("/v1/deployments/{name}")
    async def apply(name: str, doc: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        doc = {**doc, "name": doc.get("name", name)}
        if doc["name"] != name:
            raise HTTPException(422, f"name: must match the URL ({name!r}) (got {doc['name']!r})")
        try:
            return controller.apply(doc)
        except ScenarioError as e:
            raise HTTPException(422, str(e)) from e

    @app.get("/v1/deployments/{name}")
    async def get_deployment(name: str) -> dict[str, Any]:
        if name not in controller.deployments:
            raise HTTPException(404, f"deployment {name!r} not found")
        return controller.deployment_status(name)

    @app.delete("/v1/deployments/{name}")
    async def delete_deployment(name: str) -> dict[str, Any]:
        if not controller.delete(name):
            raise HTTPException(404, f"deployment {name!r} not found")
        return {"deleted": name}

    @app.get("/v1/deployments/{name}/rollouts")
    async def rollouts(name: str) -> dict[str, Any]:
        if name not in controller.deployments:
            raise HTTPException(404, f"deployment {name!r} not found")
        return controller.rollouts.status(name)

    @app.get("/v1/nodes")
    async def nodes() -> list[dict[str, Any]]:
        return controller.nodes()

    @app.delete("/v1/nodes/{agent_id}")
    async def remove_node(agent_id: str) -> dict[str, Any]:
        if not controller.remove_node(agent_id):
            raise HTTPException(404, f"node {agent_id!r} not found")
        return {"removed": agent_id}

    @app.get("/v1/replicas")
    async def replicas() -> list[dict[str, Any]]:
        return controller.replica_list()

    @app.get("/v1/events")
    async def events(after: int = 0, limit: int = 1000, kind: str | None = None) -> list[dict[str, Any]]:
        return controller.store.events(after, min(limit, 10_000), kind)

    @app.get("/v1/status")
    async def status() -> dict[str, Any]:
        return controller.summary()

    return app

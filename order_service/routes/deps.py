"""What a route is given: the handlers' Deps through one typed dependency, and the buyer
the gateway vouches for. `app.create_api` puts the wired Services on `app.state`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from order_service.bootstrap import Services
from order_service.handlers import Deps

__all__ = ["HandlerDeps", "Identity", "get_deps", "services_of"]


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# async: FastAPI would run a sync dependency in its thread pool, on every request.
async def get_deps(request: Request) -> Deps:
    return services_of(request).deps


HandlerDeps = Annotated[Deps, Depends(get_deps)]
# Set by the gateway only when a trusted proxy authenticated the buyer (see the README).
Identity = Annotated[
    str | None,
    Header(alias="x-authenticated-user", description="the buyer the gateway vouches for"),
]

"""The ASGI application: JSON API under /v1, the web UI, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import make_asgi_app

from leadflood import __version__, api_errors
from leadflood.db.engine import connect
from leadflood.leads import routes as leads_routes
from leadflood.leads import views as leads_views
from leadflood.logging import configure_logging
from leadflood.middleware import RequestContext
from leadflood.runtime import Runtime
from leadflood.settings import Settings, get_settings
from leadflood.system import routes as system_routes
from leadflood.ui.render import STATIC

API_ROUTERS = [system_routes.router, leads_routes.router]
UI_ROUTERS = [leads_views.router]


def create_app(runtime: Runtime | None = None, *, settings: Settings | None = None) -> FastAPI:
    """`runtime` is given by `leadflood up` and the tests; otherwise the app builds its own
    at start-up from the settings (for `leadflood serve` under several processes)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        config = settings or get_settings()
        configure_logging(config.log_level, config.log_format)
        own = Runtime(config, connect(config))
        app.state.runtime = own
        try:
            yield
        finally:
            await own.aclose()

    app = FastAPI(
        title="Lead Flood",
        version=__version__,
        summary="Self-hosted B2B outreach: prospects, enrichment, sequences and one inbox.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    if runtime is not None:
        app.state.runtime = runtime
    api_errors.install(app)
    for router in API_ROUTERS + UI_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/metrics", make_asgi_app())
    app.add_middleware(api_errors.CatchAll)
    app.add_middleware(RequestContext)
    return app

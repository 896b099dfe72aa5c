"""The ASGI application: JSON API under /v1, the web UI, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import make_asgi_app

from leadflood import __version__, api_errors
from leadflood.auth import admin_routes as auth_admin_routes
from leadflood.auth import admin_views as auth_admin_views
from leadflood.auth import routes as auth_routes
from leadflood.auth import views as auth_views
from leadflood.db.engine import connect
from leadflood.deps import verify_csrf
from leadflood.icps import routes as icps_routes
from leadflood.icps import views as icps_views
from leadflood.leads import import_routes, import_views, lead_views
from leadflood.leads import routes as leads_routes
from leadflood.leads import settings_routes as enrichment_settings_routes
from leadflood.leads import settings_views as enrichment_settings_views
from leadflood.leads import views as leads_views
from leadflood.logging import configure_logging
from leadflood.middleware import BodyLimit, Cors, CsrfCookie, RequestContext, SecurityHeaders
from leadflood.runtime import Runtime
from leadflood.sending import mailbox_routes, mailbox_views, suppression_views
from leadflood.sending import public_views as sending_public_views
from leadflood.sending import routes as sending_routes
from leadflood.sending import views as sending_views
from leadflood.sequences import enrollment_views as sequence_enrollment_views
from leadflood.sequences import routes as sequences_routes
from leadflood.sequences import step_routes as sequence_step_routes
from leadflood.sequences import step_views as sequence_step_views
from leadflood.sequences import views as sequences_views
from leadflood.settings import Settings, get_settings
from leadflood.system import routes as system_routes
from leadflood.ui.render import STATIC

API_ROUTERS = [
    system_routes.router,
    auth_routes.router,
    auth_admin_routes.router,
    leads_routes.router,
    import_routes.router,
    enrichment_settings_routes.router,
    icps_routes.router,
    sending_routes.router,
    mailbox_routes.router,
    sequences_routes.router,
    sequence_step_routes.router,
]
UI_ROUTERS = [
    auth_views.router,
    auth_admin_views.router,
    leads_views.router,
    import_views.router,
    lead_views.router,
    enrichment_settings_views.router,
    icps_views.router,
    sending_views.router,
    sequences_views.router,
    sequence_step_views.router,
    sequence_enrollment_views.router,
    mailbox_views.router,
    suppression_views.router,
]
# Pages for people who are not users, reached from emails: no session, no CSRF token (RFC 8058
# one-click unsubscribe POSTs come from mail providers); each authenticates by its own token.
PUBLIC_ROUTERS = [sending_public_views.router]


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
    for router in API_ROUTERS:
        app.include_router(router, responses=api_errors.ERROR_RESPONSES)
    for router in UI_ROUTERS:
        # Every form post of the web UI carries the CSRF token.
        app.include_router(router, dependencies=[Depends(verify_csrf)])
    for router in PUBLIC_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/metrics", make_asgi_app())
    app.add_middleware(api_errors.CatchAll)
    app.add_middleware(CsrfCookie)
    app.add_middleware(BodyLimit)
    app.add_middleware(Cors)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext)
    return app

"""The ASGI application: JSON API under /v1, the web UI, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import make_asgi_app

from leadflood import __version__
from leadflood.auth import admin_routes as auth_admin_routes
from leadflood.auth import admin_views as auth_admin_views
from leadflood.auth import routes as auth_routes
from leadflood.auth import views as auth_views
from leadflood.db.engine import connect
from leadflood.enrichment import routes as enrichment_settings_routes
from leadflood.enrichment import views as enrichment_settings_views
from leadflood.icps import routes as icps_routes
from leadflood.icps import views as icps_views
from leadflood.imports import routes as import_routes
from leadflood.imports import views as import_views
from leadflood.leads import lead_views
from leadflood.leads import routes as leads_routes
from leadflood.leads import views as leads_views
from leadflood.logging import configure_logging
from leadflood.mailboxes import routes as mailbox_routes
from leadflood.mailboxes import views as mailbox_views
from leadflood.runtime import Runtime
from leadflood.searches import routes as search_routes
from leadflood.searches import views as search_views
from leadflood.sending import routes as sending_routes
from leadflood.sending import views as sending_views
from leadflood.sequences import enrollment_views as sequence_enrollment_views
from leadflood.sequences import routes as sequences_routes
from leadflood.sequences import step_routes as sequence_step_routes
from leadflood.sequences import step_views as sequence_step_views
from leadflood.sequences import views as sequences_views
from leadflood.settings import Settings, get_settings
from leadflood.suppressions import routes as suppression_routes
from leadflood.suppressions import unsubscribe_views as sending_public_views
from leadflood.suppressions import views as suppression_views
from leadflood.system import routes as system_routes
from leadflood.web import error_handlers as api_errors
from leadflood.web.deps import verify_csrf
from leadflood.web.middleware import BodyLimit, Cors, CsrfCookie, RequestContext, SecurityHeaders
from leadflood.web.render import STATIC

API_ROUTERS = [
    system_routes.router,
    auth_routes.router,
    auth_admin_routes.router,
    # Before the leads' own: `/v1/leads/bulk/enrich` must not match `/v1/leads/{lead_id}/enrich`.
    enrichment_settings_routes.leads_router,
    leads_routes.router,
    import_routes.router,
    enrichment_settings_routes.router,
    icps_routes.router,
    search_routes.router,
    sending_routes.router,
    mailbox_routes.router,
    suppression_routes.router,
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
    # After the ICPs' own pages: `/icps/new` is not an ICP's page.
    search_views.router,
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

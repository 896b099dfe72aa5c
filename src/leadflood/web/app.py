"""The ASGI application: JSON API under /v1, the web UI, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from leadflood import __version__, telemetry
from leadflood.auth import routes as auth_api
from leadflood.auth import views as auth_pages
from leadflood.companies import routes as companies_api
from leadflood.companies import views as companies_pages
from leadflood.db.engine import connect
from leadflood.enrichment import routes as enrichment_api
from leadflood.enrichment import views as enrichment_pages
from leadflood.icps import routes as icps_api
from leadflood.icps import views as icps_pages
from leadflood.imports import routes as imports_api
from leadflood.imports import views as imports_pages
from leadflood.inbox import routes as inbox_api
from leadflood.inbox import views as inbox_pages
from leadflood.inbox import webhook_routes as inbound_api
from leadflood.inbox import webhook_views as inbound_pages
from leadflood.leads import routes as leads_api
from leadflood.leads import views as leads_pages
from leadflood.logging import configure_logging
from leadflood.mailboxes import routes as mailboxes_api
from leadflood.mailboxes import views as mailboxes_pages
from leadflood.runtime import Runtime
from leadflood.searches import routes as searches_api
from leadflood.searches import views as searches_pages
from leadflood.sending import routes as sending_api
from leadflood.sending import views as sending_pages
from leadflood.sequences import routes as sequences_api
from leadflood.sequences import views as sequences_pages
from leadflood.settings import Settings, get_settings
from leadflood.suppressions import routes as suppressions_api
from leadflood.suppressions import unsubscribe_views
from leadflood.suppressions import views as suppressions_pages
from leadflood.system import routes as system_api
from leadflood.system import views as system_pages
from leadflood.web import error_handlers as api_errors
from leadflood.web import idempotency
from leadflood.web.deps import verify_csrf
from leadflood.web.middleware import (
    BodyLimit,
    Cors,
    CsrfCookie,
    NoStore,
    RequestContext,
    SecurityHeaders,
)
from leadflood.web.render import STATIC
from leadflood.webhooks import routes as webhooks_api
from leadflood.webhooks import views as webhooks_pages

# Each feature's API routers and pages (its `routes.routers()`, `views.routers()`), feature by
# feature in the order they are matched: enrichment's paths under /v1/leads before the leads'
# own, the ICPs' pages before the searches' ICP page (`/icps/new` is not an ICP).
API = (
    system_api, auth_api, enrichment_api, leads_api, companies_api, imports_api, icps_api,
    searches_api,
    sending_api, mailboxes_api, suppressions_api, sequences_api, inbox_api, inbound_api,
    webhooks_api,
)  # fmt: skip
PAGES = (
    auth_pages, enrichment_pages, leads_pages, companies_pages, imports_pages, icps_pages,
    searches_pages,
    sending_pages, sequences_pages, mailboxes_pages, suppressions_pages, inbox_pages,
    inbound_pages, webhooks_pages, system_pages,
)  # fmt: skip
# Pages for people who are not users, reached from emails: no session, no CSRF token (RFC 8058
# one-click unsubscribe POSTs come from mail providers); each authenticates by its own token.
PUBLIC = (unsubscribe_views.router,)


def api_routers() -> list[APIRouter]:
    return [router for feature in API for router in feature.routers()]


def page_routers() -> list[APIRouter]:
    return [router for feature in PAGES for router in feature.routers()]


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
        configure_logging(
            config.log_level, config.log_format, service="leadflood-web", env=config.environment
        )
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
    else:  # `leadflood serve`'s processes: each starts its own traces and error reports
        telemetry.configure(settings or get_settings(), "leadflood-web")
    telemetry.instrument(app)
    api_errors.install(app)
    idempotency.install(app)
    for router in api_routers():
        app.include_router(router, responses=api_errors.ERROR_RESPONSES)
    for router in page_routers():
        # Every form post of the web UI carries the CSRF token.
        app.include_router(router, dependencies=[Depends(verify_csrf)])
    for router in PUBLIC:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(api_errors.CatchAll)
    # Outside the catch-all, so it sees the 500 of a crash and frees the request's key.
    app.add_middleware(idempotency.IdempotencyRecorder)
    app.add_middleware(CsrfCookie)
    app.add_middleware(NoStore)
    app.add_middleware(BodyLimit)
    app.add_middleware(Cors)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext)
    return app

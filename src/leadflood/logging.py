"""structlog JSON logs. Request and job identifiers travel in context variables so that every
line logged while handling them carries them without passing them around."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from opentelemetry import trace

bind_context = structlog.contextvars.bind_contextvars
clear_context = structlog.contextvars.clear_contextvars
bound_context = structlog.contextvars.bound_contextvars

# Fields of the process that every line carries: which service (web, worker, cli) in which
# environment. Not context variables: a request's `clear_context()` must not drop them.
_PROCESS: dict[str, str] = {"service": "leadflood"}


def _process_fields(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in _PROCESS.items():
        event.setdefault(key, value)
    return event


def _trace_ids(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """`trace_id` and `span_id` on lines logged inside a traced span (see telemetry.py)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


def configure_logging(
    level: str = "info", fmt: str = "json", *, service: str | None = None, env: str | None = None
) -> None:
    """`service` names the process's role (leadflood-web, leadflood-worker, leadflood-cli);
    `env` the deployment (LEADFLOOD_ENV)."""
    if service is not None:
        _PROCESS["service"] = service
    if env is not None:
        _PROCESS["env"] = env
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _process_fields,
        _trace_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Library loggers (uvicorn, procrastinate, alembic) go through the same renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in (
        "uvicorn.access",
        "procrastinate",
        "mail.log",  # aiosmtpd (the demo SMTP catcher): a line per connection and command
        "pgserver",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)

"""Traces and error reports, each off until configured.

- OpenTelemetry, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: a span per API request, a span per
  job run as the child of the request (or job) that deferred it, and a span per provider call
  (every httpx client). Exported over OTLP/HTTP; the SDK's own `OTEL_*` variables (headers,
  sampling, resource attributes) apply.
- Sentry, when `SENTRY_DSN` is set: unhandled API errors and jobs that failed for good.

A job carries its parent's trace context in one reserved argument (`TRACE_ARG`), added only
while a span is being recorded, so nothing changes in the queue when tracing is off.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sentry_sdk
from opentelemetry import propagate, trace

from leadflood import __version__

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace.export import SpanExporter

    from leadflood.settings import Settings

TRACE_ARG = "_trace"
_tracer = trace.get_tracer("leadflood")
_STATE: dict[str, bool] = {"tracing": False, "errors": False}


def configure(settings: Settings, service: str, *, exporter: SpanExporter | None = None) -> None:
    """Start what the settings ask for, once per process. `exporter` replaces the OTLP one
    (tests)."""
    if settings.sentry_dsn and not _STATE["errors"]:
        sentry_sdk.init(
            dsn=settings.sentry_dsn,
            environment=settings.environment,
            release=f"leadflood@{__version__}",
            server_name=service,
            send_default_pii=False,
        )
        _STATE["errors"] = True
    if (settings.otel_endpoint or exporter is not None) and not _STATE["tracing"]:
        _start_tracing(settings, service, exporter)
        _STATE["tracing"] = True


def _start_tracing(settings: Settings, service: str, exporter: SpanExporter | None) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create(
        {
            "service.name": service,
            "service.version": __version__,
            "deployment.environment.name": settings.environment,
        }
    )
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        endpoint = settings.otel_endpoint or ""
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces"))
        )
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)


def instrument(app: FastAPI) -> None:
    """A server span per request, when tracing is on."""
    if _STATE["tracing"]:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=trace.get_tracer_provider(), excluded_urls="health,ready,metrics"
        )


def carrier() -> dict[str, str]:
    """The current span's context to hand to a job; empty when nothing is being traced."""
    if not trace.get_current_span().is_recording():
        return {}
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


@contextlib.contextmanager
def job_span(task: str, job_id: int, attempt: int, parent: object) -> Iterator[Any]:
    """The span of one job run, a child of the span that deferred it (`parent`: the job's
    TRACE_ARG, when it has one)."""
    if not _STATE["tracing"]:
        yield None
        return
    context = propagate.extract(parent if isinstance(parent, dict) else {})
    with _tracer.start_as_current_span(
        f"job {task}",
        context=context,
        kind=trace.SpanKind.CONSUMER,
        attributes={"job.task": task, "job.id": job_id, "job.attempt": attempt},
    ) as span:
        yield span


def report(error: BaseException) -> None:
    """Send an error to Sentry (when configured) and mark the current span failed."""
    if _STATE["errors"]:
        sentry_sdk.capture_exception(error)
    span = trace.get_current_span()
    if span.is_recording():
        span.record_exception(error)
        span.set_status(trace.Status(trace.StatusCode.ERROR, str(error)))


def flush(timeout: float = 2.0) -> None:
    """Send what is buffered (at a process's end)."""
    if _STATE["errors"]:
        sentry_sdk.flush(timeout=timeout)
    if _STATE["tracing"]:
        provider = trace.get_tracer_provider()
        force = getattr(provider, "force_flush", None)
        if force is not None:
            force(int(timeout * 1000))

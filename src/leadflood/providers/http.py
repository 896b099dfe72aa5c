"""Shared HTTP plumbing for adapters: a client with timeouts always set, a per-provider rate
limiter, and one mapping from HTTP status to temporary/permanent errors."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from leadflood.providers.base import (
    PermanentProviderError,
    ProviderError,
    TemporaryProviderError,
)
from leadflood.settings import IPNetwork

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)


def build_client(
    base_url: str,
    *,
    headers: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"user-agent": "leadflood", **(headers or {})},
        transport=transport,
        timeout=timeout,
    )


WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class PublicOnlyTransport(httpx.AsyncBaseTransport):
    """Refuses a request whose host resolves to a loopback, private, link-local or reserved
    address: a webhook URL must not reach into the network the worker runs in, unless an
    operator allowed that network (WEBHOOK_ALLOWED_NETWORKS). (A host that changes its answer
    between this lookup and the connection is not caught.)"""

    def __init__(self, allowed: Sequence[IPNetwork] = ()) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._allowed = tuple(allowed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, request.url.port or 443, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from exc
        for *_, address in found:
            ip = ipaddress.ip_address(str(address[0]).split("%")[0])
            if not ip.is_global and not any(ip in network for network in self._allowed):
                raise httpx.ConnectError(
                    f"{host} resolves to {ip}, which is not a public address", request=request
                )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def build_webhook_client(
    transport: httpx.AsyncBaseTransport | None = None, allowed: Sequence[IPNetwork] = ()
) -> httpx.AsyncClient:
    """The client outbound webhooks are POSTed with: short timeouts, only public addresses
    (and the `allowed` networks), and redirects never followed (a 3xx could point the worker at
    its own network)."""
    return httpx.AsyncClient(
        transport=transport or PublicOnlyTransport(allowed),
        timeout=WEBHOOK_TIMEOUT,
        follow_redirects=False,
        headers={"user-agent": "leadflood-webhooks"},
    )


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_for_status(
    response: httpx.Response, *, provider: str, code: str | None = None, message: str | None = None
) -> ProviderError:
    """429 and 5xx are temporary; any other 4xx is permanent."""
    text = message or f"{provider} answered HTTP {response.status_code}"
    status = response.status_code
    error_code = code or str(status)
    if status == 429 or status >= 500:
        return TemporaryProviderError(
            text, provider=provider, code=error_code, retry_after=retry_after_seconds(response)
        )
    return PermanentProviderError(text, provider=provider, code=error_code)


async def request(
    client: httpx.AsyncClient, method: str, url: str, *, provider: str, **kwargs: Any
) -> httpx.Response:
    """Send a request; network faults and timeouts become TemporaryProviderError."""
    try:
        return await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TemporaryProviderError(
            f"{provider} timed out", provider=provider, code="timeout"
        ) from exc
    except httpx.TransportError as exc:
        raise TemporaryProviderError(
            f"{provider} unreachable: {exc.__class__.__name__}", provider=provider, code="network"
        ) from exc


class RateLimiter:
    """At most `rate` calls per `per` seconds, spaced evenly (a leaky bucket)."""

    def __init__(self, rate: float, per: float = 1.0) -> None:
        self._interval = per / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)

"""An httpx.MockTransport that records requests, for provider adapter tests."""

from __future__ import annotations

import json
from typing import Any

import httpx


class FakeApi:
    """An httpx.MockTransport that records every request and answers with `reply(...)`."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._response: httpx.Response | Exception = httpx.Response(500)
        self.transport = httpx.MockTransport(self._handle)

    def reply(
        self,
        status: int,
        *,
        json: Any = None,
        text: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if json is not None:
            self._response = httpx.Response(status, json=json, headers=headers)
        else:
            self._response = httpx.Response(status, text=text or "", headers=headers)

    def fail(self, error: Exception) -> None:
        self._response = error

    @property
    def last_json(self) -> Any:
        return json.loads(self.requests[-1].content)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self._response, Exception):
            raise self._response
        return self._response

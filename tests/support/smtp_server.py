"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 that records what it receives, checks
AUTH LOGIN/PLAIN credentials, and answers chosen failure codes on command.

    with SmtpTestServer(username="u", password="p") as server:
        sender = build_email_sender("smtp", server.config())
        server.fail_next(code=451, text="try later", stage="DATA")
        server.reject_recipient("ghost@example.com")
"""

from __future__ import annotations

import asyncio
import socket
import threading
import warnings
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from leadflood.sending import catcher_store

Stage = Literal["MAIL", "RCPT", "DATA"]
_DROP = object()
_PASS = object()


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage


def free_port(host: str = "127.0.0.1") -> int:
    # aiosmtpd's Controller cannot bind port 0, so pick a free port first.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class _Handler:
    def __init__(self, owner: SmtpTestServer) -> None:
        self.owner = owner

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        planned = self.owner._take("MAIL", server)
        if planned:
            return planned
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        rejected = self.owner._rejected.get(address.lower())
        if rejected:
            return rejected
        ruled = self.owner._rule_for(address)
        if ruled:
            return ruled
        planned = self.owner._take("RCPT", server)
        if planned:
            return planned
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.owner.delay:
            await asyncio.sleep(self.owner.delay)
        planned = self.owner._take("DATA", server)
        if planned:
            return planned
        data = envelope.original_content or b""
        parsed = BytesParser(policy=policy.default).parsebytes(data)
        if self.owner.record_dir is not None:
            catcher_store.save(self.owner.record_dir, str(parsed["Message-ID"] or ""), data)
        with self.owner._lock:
            self.owner._messages.append(
                ReceivedMessage(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    data=data,
                    message=parsed,
                )
            )
        return "250 2.0.0 Message accepted for delivery"


class _CountingSMTP(SMTP):
    def __init__(self, owner: SmtpTestServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        with self._owner._lock:
            self._owner.connections += 1
            self._owner._transports.add(cast(asyncio.Transport, transport))

    def connection_lost(self, exc: Exception | None) -> None:
        with self._owner._lock:
            self._owner._transports.discard(cast(asyncio.Transport, self.transport))
        super().connection_lost(exc)


class _Controller(Controller):
    def __init__(self, owner: SmtpTestServer, **kwargs: Any) -> None:
        super().__init__(_Handler(owner), **kwargs)
        self._owner = owner

    def factory(self) -> SMTP:
        with warnings.catch_warnings():
            # AUTH without TLS is exactly what a loopback test server wants.
            warnings.simplefilter("ignore", UserWarning)
            return _CountingSMTP(self._owner, self.handler, **self.SMTP_kwargs)


class SmtpTestServer:
    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        host: str = "127.0.0.1",
        delay: float = 0.0,
        record_dir: Path | None = None,
    ) -> None:
        """`delay`: seconds to wait before answering each DATA (a slow server); `record_dir`:
        also keep each accepted message there by Message-ID, as the demo catcher does, so the
        delivery reconciler (and a test in another process) can ask what arrived."""
        self.host = host
        self.delay = delay
        self.record_dir = record_dir
        self.port = 0
        self.username = username
        self.password = password
        self.connections = 0
        self.auth_attempts: list[tuple[str, bool]] = []
        self._messages: list[ReceivedMessage] = []
        self._planned: dict[str, deque[object]] = defaultdict(deque)
        self._rejected: dict[str, str] = {}
        self._recipient_rule: Callable[[str, int], str | None] | None = None
        self._rcpt_seen: Counter[str] = Counter()
        self._transports: set[asyncio.Transport] = set()
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self.record_dir is not None:
            self.record_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port(self.host)
        self._controller = _Controller(
            self,
            hostname=self.host,
            port=self.port,
            server_hostname="mx.test",
            authenticator=self._authenticate if self.username is not None else None,
            auth_required=self.username is not None,
            auth_require_tls=False,
        )
        self._controller.start()
        # start() makes one probe connection; tests count only their own.
        with self._lock:
            self.connections = 0

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A `build_email_sender("smtp", ...)` config pointing at this server."""
        config: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "tls_mode": "none",
            "timeout": 5,
            "local_hostname": "client.test",
        }
        if self.username is not None:
            config |= {"username": self.username, "password": self.password}
        if self.record_dir is not None:
            config["catcher_dir"] = str(self.record_dir)
        return config | overrides

    # -- what was received --------------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    # -- behaviour on command -----------------------------------------------------------------

    def fail_next(self, *, code: int, text: str, stage: Stage = "DATA", times: int = 1) -> None:
        """Answer `code text` to the next `times` commands of `stage`."""
        with self._lock:
            self._planned[stage].extend([f"{code} {text}"] * times)

    def pass_next(self, *, stage: Stage = "DATA") -> None:
        """Answer the next command of `stage` normally (to script failures in between)."""
        with self._lock:
            self._planned[stage].append(_PASS)

    def clear_plans(self) -> None:
        with self._lock:
            self._planned.clear()

    def drop_next(self, *, stage: Stage = "MAIL") -> None:
        """Close the connection, without replying, when the next command of `stage` arrives."""
        with self._lock:
            self._planned[stage].append(_DROP)

    def reject_recipient(self, address: str, *, code: int = 550, text: str = "") -> None:
        """Refuse RCPT TO for `address` every time."""
        with self._lock:
            self._rejected[address.lower()] = f"{code} {text or '5.1.1 User unknown'}"

    def answer_recipients(self, rule: Callable[[str, int], str | None]) -> None:
        """Answer each RCPT TO with `rule(address, nth)` (nth: 1 for the address's first RCPT,
        2 for its second, ...), or normally when it returns None."""
        with self._lock:
            self._recipient_rule = rule
            self._rcpt_seen.clear()

    def _rule_for(self, address: str) -> str | None:
        with self._lock:
            rule = self._recipient_rule
            if rule is None:
                return None
            self._rcpt_seen[address.lower()] += 1
            nth = self._rcpt_seen[address.lower()]
        return rule(address.lower(), nth)

    def drop_connections(self) -> None:
        """Close every open client connection from the server side (an idle timeout)."""
        controller = self._controller
        if controller is None:
            return
        with self._lock:
            transports = list(self._transports)
        done = threading.Event()

        def close_all() -> None:
            for transport in transports:
                transport.abort()
            done.set()

        controller.loop.call_soon_threadsafe(close_all)
        done.wait(5)

    # -- called from the server thread --------------------------------------------------------

    def _take(self, stage: str, server: SMTP) -> str | None:
        with self._lock:
            planned = self._planned[stage].popleft() if self._planned[stage] else None
        if planned is _DROP:
            # abort() marks the transport lost at once, so the reply aiosmtpd pushes next is
            # discarded instead of reaching the client.
            cast(asyncio.Transport, server.transport).abort()
            return "421 dropped"
        return planned if isinstance(planned, str) else None

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?"
        with self._lock:
            self.auth_attempts.append((login, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

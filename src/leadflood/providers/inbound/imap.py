"""Reading a mailbox over IMAP without changing it: every folder is opened read-only (EXAMINE)
and messages are fetched with BODY.PEEK[], so no flag is ever set on the user's mail (nothing
becomes read). imapclient is blocking: an `ImapConnection` is used from one thread at a time
(the callers run it with `asyncio.to_thread`).

Every failure is an `ImapError` whose `code` is stable and whose message says what to check.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.parser import BytesHeaderParser
from types import TracebackType
from typing import Any, Literal, Self

from imapclient import IMAPClient
from imapclient import exceptions as imap_errors
from imapclient.imapclient import JUNK

from leadflood.providers.base import PermanentProviderError, ProviderError, TemporaryProviderError

PROVIDER = "imap"
TlsMode = Literal["tls", "starttls", "none"]
# Folder names that hold spam on servers that do not mark it with SPECIAL-USE \Junk.
SPAM_NAMES = ("Junk", "Spam", "INBOX.Junk", "INBOX.Spam", "[Gmail]/Spam", "Junk E-mail", "Bulk")
# Servers may end an IDLE after 30 minutes (RFC 2177); it is renewed well before.
IDLE_RENEW_SECONDS = 9 * 60


class ImapError(ProviderError):
    """`code`: imap_login_failed, imap_unreachable, imap_tls_failed, imap_timeout,
    imap_folder_missing, imap_protocol_error."""


class ImapPermanentError(ImapError, PermanentProviderError):
    pass


class ImapTemporaryError(ImapError, TemporaryProviderError):
    pass


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    tls_mode: TlsMode
    username: str
    password: str
    timeout: float = 30.0

    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    raw: bytes
    internal_date: datetime | None


def default_port(tls_mode: str) -> int:
    return 993 if tls_mode == "tls" else 143


def message_id_of(raw_headers: bytes) -> str | None:
    """The Message-ID of a message (its headers are enough; read up to the first blank line),
    without angle brackets and white space. It is read for every message fetched: a header
    block of plain `Name: value` lines and folded lines is searched with a pattern; anything
    else (a bare CR, a line that is no header, an mbox "From " line) goes to the header parser,
    which the pattern agrees with on the plain blocks (tests/inbox/test_store.py)."""
    cut = [i for i in (raw_headers.find(b"\n\n"), raw_headers.find(b"\n\r\n")) if i >= 0]
    block = raw_headers[: min(cut) + 1] if cut else raw_headers
    if _PLAIN_HEADERS.fullmatch(block) is None:
        value = BytesHeaderParser().parsebytes(raw_headers).get("Message-ID")
        text = None if value is None else str(value)
    else:
        found = _MESSAGE_ID_FIELD.search(block)
        # Bytes beyond ASCII as U+FFFD each, as the parser's value reads them.
        text = None if found is None else found.group(1).decode("ascii", "replace")
    if text is None:
        return None
    cleaned = "".join(text.split()).strip("<>")
    return cleaned or None


# A header block the pattern reads as the parser does: fields (`Name:`, the name printable
# ASCII without a colon) and folded lines (starting with a space or a tab), each ending in LF
# or CRLF (the last one may end the block), with no CR elsewhere.
_PLAIN_HEADERS = re.compile(
    rb"(?:(?:[\x21-\x39\x3b-\x7e]*:|[ \t])[^\r\n]*\r?\n)*"
    rb"(?:(?:[\x21-\x39\x3b-\x7e]*:|[ \t])[^\r\n]*)?"
)
# The Message-ID field: its name at the start of a line, in any case, then its value and any
# folded lines after it.
_MESSAGE_ID_FIELD = re.compile(rb"(?:\A|\n)message-id:([^\n]*(?:\n[ \t][^\n]*)*)", re.IGNORECASE)


class ImapConnection:
    """One logged-in IMAP connection. Blocking: call it from one thread at a time."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self._client: IMAPClient | None = None
        self.folder: str | None = None

    # -- connecting ---------------------------------------------------------------------------

    def open(self) -> Self:
        settings = self.settings
        context = ssl.create_default_context()
        try:
            client = IMAPClient(
                settings.host,
                port=settings.port,
                ssl=settings.tls_mode == "tls",
                ssl_context=context if settings.tls_mode == "tls" else None,
                timeout=settings.timeout,
            )
        except ssl.SSLError as exc:
            raise self._tls_error(exc) from exc
        except TimeoutError as exc:
            raise self._timeout() from exc
        except OSError as exc:
            raise ImapTemporaryError(
                f"Cannot reach the IMAP server at {settings.where()}: {exc.strerror or exc}. "
                "Check the host and port (993 for TLS, 143 for STARTTLS or none).",
                provider=PROVIDER,
                code="imap_unreachable",
            ) from exc
        except imap_errors.IMAPClientError as exc:
            raise self._protocol_error(exc) from exc
        client.normalise_times = False
        self._client = client
        try:
            if settings.tls_mode == "starttls":
                try:
                    client.starttls(context)
                except (ssl.SSLError, imap_errors.IMAPClientError) as exc:
                    raise self._tls_error(exc) from exc
            try:
                client.login(settings.username, settings.password)
            except imap_errors.LoginError as exc:
                detail = _text(exc)
                raise ImapPermanentError(
                    f"The IMAP server at {settings.where()} rejected the login of "
                    f"{settings.username!r}{': ' + detail if detail else ''}. Check the username "
                    "and password (many providers need an app password for IMAP).",
                    provider=PROVIDER,
                    code="imap_login_failed",
                ) from exc
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            with contextlib.suppress(Exception):  # already gone
                client.shutdown()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise RuntimeError("the IMAP connection is not open")
        return self._client

    # -- folders ------------------------------------------------------------------------------

    def capabilities(self) -> set[str]:
        return {c.decode() if isinstance(c, bytes) else str(c) for c in self._call(
            self.client.capabilities
        )}  # fmt: skip

    def list_folders(self) -> list[str]:
        return [str(name) for _flags, _sep, name in self._call(self.client.list_folders)]

    def junk_folder(self) -> str | None:
        """The folder the server marks \\Junk, else one with a usual spam folder name."""
        found = self._call(self.client.find_special_folder, JUNK)
        if found:
            return str(found)
        names = {name.lower(): name for name in self.list_folders()}
        for candidate in SPAM_NAMES:
            if candidate.lower() in names:
                return names[candidate.lower()]
        return None

    def missing_folders(self, folders: Iterable[str]) -> list[str]:
        existing = set(self.list_folders())
        lowered = {name.lower() for name in existing}
        return [
            f
            for f in folders
            if f not in existing and not (f.upper() == "INBOX" and "inbox" in lowered)
        ]

    def select(self, folder: str) -> FolderState:
        """Open `folder` read-only (EXAMINE): nothing done here can change a flag."""
        try:
            answer = self.client.select_folder(folder, readonly=True)
        except imap_errors.IMAPClientError as exc:
            if isinstance(exc, imap_errors.IMAPClientAbortError):
                raise self._protocol_error(exc) from exc
            raise ImapPermanentError(
                f"The folder {folder!r} cannot be opened on {self.settings.where()}: "
                f"{_text(exc)}. Check the folder names to watch.",
                provider=PROVIDER,
                code="imap_folder_missing",
            ) from exc
        except (TimeoutError, OSError) as exc:
            raise self._lost(exc) from exc
        self.folder = folder
        uidnext = answer.get(b"UIDNEXT")
        return FolderState(
            uidvalidity=int(answer[b"UIDVALIDITY"]),
            uidnext=int(uidnext) if uidnext is not None else None,
            exists=int(answer.get(b"EXISTS", 0)),
        )

    # -- searching and fetching (in the selected folder) --------------------------------------

    def uids_after(self, last_uid: int) -> list[int]:
        # "n:*" always matches the last message, even when its UID is below n: filter.
        found = self._call(self.client.search, ["UID", f"{last_uid + 1}:*"])
        return sorted(int(u) for u in found if int(u) > last_uid)

    def uids_since(self, day: date) -> list[int]:
        return sorted(int(u) for u in self._call(self.client.search, ["SINCE", day]))

    def message_ids(self, uids: Sequence[int]) -> dict[int, str | None]:
        """The Message-ID of each UID, reading only that header (BODY.PEEK: no flag set)."""
        if not uids:
            return {}
        fetched = self._call(
            self.client.fetch, list(uids), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]
        )
        result: dict[int, str | None] = {}
        for uid, data in fetched.items():
            header = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
            result[int(uid)] = message_id_of(header or b"")
        return result

    def fetch(self, uids: Sequence[int]) -> list[FetchedMail]:
        """The full RFC 5322 bytes of each UID (BODY.PEEK[]: the message stays unread)."""
        if not uids:
            return []
        fetched = self._call(self.client.fetch, list(uids), ["BODY.PEEK[]", "INTERNALDATE"])
        mails = []
        for uid, data in sorted(fetched.items()):
            raw = data.get(b"BODY[]")
            if raw is None:
                continue  # expunged meanwhile
            when = data.get(b"INTERNALDATE")
            mails.append(
                FetchedMail(
                    uid=int(uid),
                    raw=bytes(raw),
                    internal_date=when if isinstance(when, datetime) else None,
                )
            )
        return mails

    # -- waiting for new mail -----------------------------------------------------------------

    def supports_idle(self) -> bool:
        return "IDLE" in self.capabilities()

    def wait_for_mail(self, stop: threading.Event, *, tick: float = 2.0) -> bool:
        """IDLE in the selected folder until the server announces a message (True) or `stop`
        is set or the IDLE is due for renewal (False). Returns within `tick` of `stop`."""
        client = self.client
        self._call(client.idle)
        arrived = False
        started = time.monotonic()
        try:
            while not stop.is_set() and time.monotonic() - started < IDLE_RENEW_SECONDS:
                responses = self._call(client.idle_check, timeout=tick)
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    arrived = True
                    break
        finally:
            self._call(client.idle_done)
        return arrived

    # -- errors -------------------------------------------------------------------------------

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except imap_errors.IMAPClientError as exc:
            raise self._protocol_error(exc) from exc
        except imaplib.IMAP4.error as exc:
            raise self._protocol_error(exc) from exc
        except (TimeoutError, OSError) as exc:
            raise self._lost(exc) from exc

    def _timeout(self) -> ImapTemporaryError:
        return ImapTemporaryError(
            f"The IMAP server at {self.settings.where()} did not answer within "
            f"{self.settings.timeout:g} s. Check the host and port, and that a firewall lets "
            "the connection through.",
            provider=PROVIDER,
            code="imap_timeout",
        )

    def _lost(self, exc: BaseException) -> ImapTemporaryError:
        if isinstance(exc, TimeoutError):
            return self._timeout()
        return ImapTemporaryError(
            f"The connection to the IMAP server at {self.settings.where()} was lost: {exc}.",
            provider=PROVIDER,
            code="imap_unreachable",
        )

    def _tls_error(self, exc: BaseException) -> ImapPermanentError:
        return ImapPermanentError(
            f"TLS with the IMAP server at {self.settings.where()} failed: {exc}. Check the "
            "security setting: TLS on port 993, STARTTLS on port 143.",
            provider=PROVIDER,
            code="imap_tls_failed",
        )

    def _protocol_error(self, exc: BaseException) -> ImapTemporaryError:
        return ImapTemporaryError(
            f"The IMAP server at {self.settings.where()} answered an error: {_text(exc)}.",
            provider=PROVIDER,
            code="imap_protocol_error",
        )


def _text(exc: BaseException) -> str:
    value = exc.args[0] if exc.args else str(exc)
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    text = str(value).strip()
    # imaplib's errors carry the server's bytes, and imapclient passes on their repr.
    if len(text) > 3 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        text = text[2:-1]
    return text


def check(settings: ImapSettings, folders: Sequence[str], *, spam: bool = False) -> list[str]:
    """Log in for real and check the folders exist; the folders to watch (with the spam
    folder added when `spam`). Blocking."""
    with ImapConnection(settings) as connection:
        watched = list(dict.fromkeys(folders))
        if spam:
            junk = connection.junk_folder()
            if junk is None:
                raise ImapPermanentError(
                    f"No spam folder was found on {settings.where()} (none is marked \\Junk, "
                    f"none is named {', '.join(SPAM_NAMES[:2])}). Add it by name to the "
                    "folders, or untick the spam folder. Folders there: "
                    + ", ".join(connection.list_folders()),
                    provider=PROVIDER,
                    code="imap_folder_missing",
                )
            if junk not in watched:
                watched.append(junk)
        missing = connection.missing_folders(watched)
        if missing:
            raise ImapPermanentError(
                f"No folder named {', '.join(repr(m) for m in missing)} on {settings.where()}. "
                "Folders there: " + ", ".join(connection.list_folders()),
                provider=PROVIDER,
                code="imap_folder_missing",
            )
        return watched

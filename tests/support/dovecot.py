"""A real IMAP server for tests: Debian's Dovecot run as a plain child process on 127.0.0.1,
with its configuration, state, log and Maildirs in a temporary directory.

    with DovecotServer(tmp_dir) as server:
        server.add_user("anna", "s3cret")
        uid = server.append("anna", "INBOX", raw_bytes)
        assert b"\\Seen" not in server.flags("anna", "INBOX", uid)
        server.change_uidvalidity("anna", "INBOX")

Dovecot 2.3 and 2.4 read incompatible configuration files: the one written matches
`dovecot --version`. As root, Dovecot refuses to run mail processes as root, so they run as
`nobody`/`nogroup`, which then owns the mail directory.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import imapclient

DOVECOT = "/usr/sbin/dovecot"
MISSING = (
    f"Dovecot is not installed ({DOVECOT} is missing): run `make dovecot` (it installs Debian's "
    "dovecot-imapd) — the inbox tests need a real IMAP server."
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dovecot_version() -> tuple[int, int]:
    out = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True, check=True)
    found = re.match(r"(\d+)\.(\d+)", out.stdout.strip())
    if not found:
        raise RuntimeError(f"cannot read Dovecot's version from {out.stdout!r}")
    return int(found.group(1)), int(found.group(2))


def _system_identity() -> tuple[str, str]:
    """The user and group Dovecot's processes run as."""
    if os.geteuid() == 0:
        return "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


_COMMON = """\
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
auth_mechanisms = plain login
# Wrong passwords are part of the tests: answer them at once, never slow the next login.
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_uid = {user}
mail_gid = {group}
first_valid_uid = 0
first_valid_gid = 0
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Junk {{
    special_use = \\Junk
    auto = create
  }}
}}
"""

_V23 = """\
protocols = imap
disable_plaintext_auth = no
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/mail/%u
}}
"""

_V24 = """\
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
protocols = imap
auth_allow_cleartext = yes
mail_driver = maildir
mail_path = {root}/mail/%{{user}}
mail_home = {root}/mail/%{{user}}
passdb passwd-file {{
  passwd_file_path = {root}/users/%{{user}}
}}
userdb static {{
  fields {{
    uid = {user}
    gid = {group}
    home = {root}/mail/%{{user}}
  }}
}}
"""


class DovecotServer:
    def __init__(self, root: Path, *, host: str = "127.0.0.1") -> None:
        self.root = root
        self.host = host
        self.port = 0
        self.passwords: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if not os.access(DOVECOT, os.X_OK):
            raise RuntimeError(MISSING)
        user, group = _system_identity()
        for name in ("run", "state", "mail", "users"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root / "mail", user, group)
        self.port = free_port()
        major_minor = dovecot_version()
        values = {"root": self.root, "user": user, "group": group, "port": self.port}
        specific = _V24 if major_minor >= (2, 4) else _V23
        # The version-specific part first: a 2.4 file must open with dovecot_config_version.
        body = specific.format(**values) + _COMMON.format(**values)
        conf = self.root / "dovecot.conf"
        conf.write_text(body)
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                _, stderr = self._process.communicate()
                raise RuntimeError(
                    f"Dovecot exited at start ({self._process.returncode}): "
                    f"{stderr.decode(errors='replace')}{self.log()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"Dovecot did not listen on port {self.port} within 10 s: {self.log()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()

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

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- users and mail -----------------------------------------------------------------------

    def add_user(self, username: str, password: str) -> None:
        """A mail account (a passwd-file of its own, {PLAIN} password); its Maildir is made on
        first login."""
        self.passwords[username] = password
        (self.root / "users" / username).write_text(f"{username}:{{PLAIN}}{password}\n")

    def set_password(self, username: str, password: str) -> None:
        # Dovecot looks at a passwd-file again at most once a second.
        time.sleep(1.1)
        self.add_user(username, password)

    def imap_settings(self, username: str, **overrides: object) -> dict[str, object]:
        """The mailbox API's `imap` object for `username` on this server."""
        return {
            "host": self.host,
            "port": self.port,
            "tls_mode": "none",
            "username": username,
            "password": self.passwords[username],
        } | overrides

    def client(self, username: str) -> imapclient.IMAPClient:
        client = imapclient.IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(username, self.passwords[username])
        return client

    def append(
        self,
        username: str,
        folder: str,
        raw: bytes,
        *,
        flags: tuple[bytes, ...] = (),
        when: datetime | None = None,
    ) -> int:
        """Deliver `raw` into `folder` (as a mail server's local delivery would); its UID."""
        with self.client(username) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            answer = client.append(folder, raw, flags=flags, msg_time=when)
        found = re.search(rb"APPENDUID \d+ (\d+)", answer)
        if not found:
            raise RuntimeError(f"Dovecot did not answer APPENDUID: {answer!r}")
        return int(found.group(1))

    def flags(self, username: str, folder: str) -> dict[int, tuple[bytes, ...]]:
        """Every message's flags in `folder`, by UID (read with a read-only SELECT)."""
        with self.client(username) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            if not uids:
                return {}
            fetched = client.fetch(uids, ["FLAGS"])
        return {int(uid): tuple(data[b"FLAGS"]) for uid, data in fetched.items()}

    def uidvalidity(self, username: str, folder: str) -> int:
        with self.client(username) as client:
            status = client.folder_status(folder, [b"UIDVALIDITY"])
        return int(status[b"UIDVALIDITY"])

    def change_uidvalidity(self, username: str, folder: str) -> int:
        """What a server does after its index is rebuilt: a new UIDVALIDITY, and every message
        numbered again from UID 1. Dovecot's Maildir keeps both in `dovecot-uidlist` and its
        index files; without them it assigns new ones. The new UIDVALIDITY."""
        before = self.uidvalidity(username, folder)
        home = self.root / "mail" / username
        maildir = home if folder.upper() == "INBOX" else home / f".{folder.replace('/', '.')}"
        for path in maildir.iterdir():
            if path.name == "dovecot-uidlist" or path.name.startswith("dovecot.index"):
                path.unlink()
        after = self.uidvalidity(username, folder)
        if after == before:
            raise RuntimeError(f"the UIDVALIDITY of {folder} did not change ({before})")
        return after

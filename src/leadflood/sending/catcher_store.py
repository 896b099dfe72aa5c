"""Where an SMTP catcher (the demo server, the test server) keeps what it received: one file
per message, named after its Message-ID, so the reconciler can ask "did this one arrive?"."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from leadflood.settings import Settings


def file_for(directory: Path, message_id: str) -> Path:
    digest = hashlib.sha256(message_id.strip().encode("utf-8", "replace")).hexdigest()
    return directory / f"{digest}.eml"


def save(directory: Path, message_id: str, data: bytes) -> Path:
    """Write atomically (temp file + rename) so a reader never sees half a message."""
    directory.mkdir(parents=True, exist_ok=True)
    target = file_for(directory, message_id)
    temp = target.with_suffix(f".{os.getpid()}.tmp")
    temp.write_bytes(data)
    os.replace(temp, target)
    return target


def has(directory: Path, message_id: str) -> bool:
    return file_for(directory, message_id).exists()


def demo_inbox(settings: Settings) -> Path:
    """Where `leadflood up --demo`'s catcher keeps what it receives."""
    return settings.data_dir / "demo_inbox"

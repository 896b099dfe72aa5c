"""One database URL in two dialects: SQLAlchemy's (`postgresql+psycopg://`) and libpq's."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def libpq_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def sqlalchemy_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))

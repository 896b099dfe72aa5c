from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from leadflood.db import migrate
from leadflood.db.urls import sqlalchemy_url
from leadflood.models import Base


def test_migrations_are_at_head_and_match_the_models(database_url) -> None:
    current, head = migrate.current_and_head(database_url)
    assert current == head
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    not (name or "").startswith("procrastinate")
                ),
                "compare_type": True,
            },
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], diff


def test_upgrade_is_idempotent(database_url) -> None:
    migrate.upgrade(database_url)
    current, head = migrate.current_and_head(database_url)
    assert current == head


def test_mailbox_secrets_move_into_the_store_and_back(pg_server: str) -> None:
    """0013 moves each mailbox's ciphertexts, as they are, into `provider_credentials`; the
    downgrade puts them back."""
    import psycopg
    from alembic import command

    url = pg_server.replace("/postgres?", "/migrate_secrets?")
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS migrate_secrets")
        conn.execute("CREATE DATABASE migrate_secrets")
    try:
        migrate.upgrade(url, "0012")
        with psycopg.connect(url, autocommit=True) as conn:
            workspace = conn.execute(
                "INSERT INTO workspaces (id, name, slug) VALUES (gen_random_uuid(), 'A', 'a') "
                "RETURNING id"
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO mailboxes (id, workspace_id, name, channel, provider, from_email,"
                " signature, config, secret_ciphertext, secret_key_version, dkim_key_ciphertext,"
                ' daily_cap, min_gap_seconds, jitter_seconds, "window", timezone, warmup_enabled,'
                " warmup_start, warmup_increment, state, dns_checks) VALUES (gen_random_uuid(), %s,"
                " 'M', 'email', 'smtp', 'a@b.example', '', '{}', 'token-1'::bytea, 'k1',"
                " 'token-2'::bytea, 50, 0, 0, '{}', 'UTC', false, 10, 5, 'active', '{}')",
                (workspace,),
            )
        migrate.upgrade(url, "0013")
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT c.kind, c.ciphertext, c.key_version FROM mailboxes AS m"
                " JOIN provider_credentials AS c ON c.id IN (m.secret_id, m.dkim_key_id)"
                " ORDER BY c.kind"
            ).fetchall()
        assert rows == [("dkim_key", "token-2", ""), ("mailbox_secret", "token-1", "k1")]
        command.downgrade(migrate.alembic_config(url), "0012")
        with psycopg.connect(url) as conn:
            back = conn.execute(
                "SELECT convert_from(secret_ciphertext, 'UTF8'), secret_key_version,"
                " convert_from(dkim_key_ciphertext, 'UTF8') FROM mailboxes"
            ).fetchone()
            left = conn.execute("SELECT count(*) FROM provider_credentials").fetchone()
        assert back == ("token-1", "k1", "token-2") and left == (0,)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS migrate_secrets WITH (FORCE)")

"""Fault drill: an import that fails, at any point, leaves no uploaded file behind."""

from __future__ import annotations

import io
import uuid

import httpx
import pytest
from sqlalchemy import select

from leadflood.imports import service as importing
from leadflood.models import ImportState, LeadImport
from tests.support.jobs import drain, make_due
from tests.support.processes import run_cli

GOOD = b"email,first_name\r\nada@analytical.io,Ada\r\ngrace@navy.example.com,Grace\r\n"
BINARY = b"PK\x03\x04\x00\x00\x08\x00" + bytes(range(32)) * 64


def uploads(settings) -> list[str]:
    root = settings.data_dir / "imports"
    files = (p for p in root.rglob("*") if p.is_file() or p.is_symlink())
    return sorted(str(p.relative_to(root)) for p in files) if root.exists() else []


async def upload(client: httpx.AsyncClient, content: bytes, **form: str) -> httpx.Response:
    return await client.post(
        "/v1/imports", files={"file": ("leads.csv", content, "text/csv")}, data=form
    )


async def stored(runtime, import_id: str) -> LeadImport:
    async with runtime.db.sessions() as session:
        imp = await session.scalar(select(LeadImport).where(LeadImport.id == uuid.UUID(import_id)))
        assert imp is not None
        return imp


async def test_a_refused_upload_keeps_no_file(client, settings):
    refused = await upload(client, BINARY)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "binary_file"
    assert uploads(settings) == []


async def test_an_upload_whose_transaction_rolls_back_keeps_no_file(runtime, settings, owner):
    class Later(Exception):
        pass

    with pytest.raises(Later):
        async with runtime.db.session() as session:
            imp = await importing.create_upload(
                session, settings, owner.workspace_id, source=io.BytesIO(GOOD), file_name="a.csv"
            )
            assert (settings.data_dir / imp.stored_path).exists()
            raise Later  # e.g. the preview, or the commit, fails after the file was stored
    assert uploads(settings) == []

    async with runtime.db.session() as session:
        kept = await importing.create_upload(
            session, settings, owner.workspace_id, source=io.BytesIO(GOOD), file_name="a.csv"
        )
    assert (settings.data_dir / kept.stored_path).exists()


async def test_an_import_that_fails_in_the_pipeline_removes_its_upload(client, runtime, settings):
    created = await upload(client, GOOD)
    assert created.status_code == 201, created.text
    import_id = created.json()["id"]
    path = settings.data_dir / (await stored(runtime, import_id)).stored_path
    assert path.exists()
    # The file on disk is damaged before the job reads it: the import fails at once.
    path.write_bytes(BINARY)
    assert (await client.post(f"/v1/imports/{import_id}/start")).status_code == 202
    await drain(runtime)
    done = (await client.get(f"/v1/imports/{import_id}")).json()
    assert done["state"] == "failed" and "not text" in done["error"]
    assert not path.exists() and uploads(settings) == []


async def test_an_import_job_that_fails_finally_removes_its_upload(client, runtime, settings):
    created = await upload(client, GOOD)
    import_id = created.json()["id"]
    path = settings.data_dir / (await stored(runtime, import_id)).stored_path
    # The file cannot be read (a system error, retried) until the job gives up.
    path.unlink()
    path.symlink_to(settings.data_dir, target_is_directory=True)
    assert (await client.post(f"/v1/imports/{import_id}/start")).status_code == 202
    for _ in range(6):
        await drain(runtime)
        await make_due(runtime)
    imp = await stored(runtime, import_id)
    assert imp.state == ImportState.failed and "IsADirectoryError" in (imp.error or "")
    assert not path.is_symlink() and uploads(settings) == []


async def test_a_failed_cli_import_leaves_the_users_file_and_stores_none(
    tmp_path, database_url, runtime, owner
):
    source = tmp_path / "export.csv"
    source.write_bytes(BINARY)
    failed = run_cli(tmp_path, database_url, "leads", "import", str(source), "--workspace", "Acme")
    assert failed.returncode != 0 and "not text" in failed.stderr
    assert source.read_bytes() == BINARY  # the user's own file is never removed
    assert not (tmp_path / "data" / "imports").exists()

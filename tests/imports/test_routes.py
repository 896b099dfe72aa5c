from __future__ import annotations

import csv
import io

import httpx

from tests.support.jobs import drain

MESSY = (
    "\ufeffName;E-mail Address;Organisation;Job;Mobile;Notes\r\n"
    "Ada Lovelace;ada@analytical.io;Analytical;Engineer;+44 20 7946 0958;first\r\n"
    'Grace Hopper;grace@navy.example.com;Navy;"Rear\r\nAdmiral";;\r\n'
    "Bad Row;not-an-email;Nowhere;;;\r\n"
    "Ada Again;ADA@analytical.io;Analytical;;;dup\r\n"
).encode()


async def upload(client: httpx.AsyncClient, content: bytes = MESSY, **form: str) -> httpx.Response:
    return await client.post(
        "/v1/imports", files={"file": ("messy.csv", content, "text/csv")}, data=form
    )


async def test_upload_preview_override_start_and_summary(client, runtime):
    created = await upload(client)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "uploaded"
    preview = body["preview"]
    assert preview["delimiter"] == ";" and preview["encoding"] == "utf-8-sig"
    assert preview["mapping"]["E-mail Address"] == "email"
    assert preview["mapping"]["Job"] == "custom:job"
    assert [row["ok"] for row in preview["sample"]] == [True, True, False, True]
    assert preview["sample"][2]["reasons"][0]["code"] == "invalid_email"
    import_id = body["id"]

    changed = await client.put(
        f"/v1/imports/{import_id}/mapping",
        json={"overrides": {"Job": "title", "Notes": None}, "on_duplicate": "update"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["mapping"]["Job"] == "title"
    assert changed.json()["preview"]["sample"][0]["lead"]["title"] == "Engineer"
    assert changed.json()["on_duplicate"] == "update"

    started = await client.post(f"/v1/imports/{import_id}/start")
    assert started.status_code == 202, started.text
    assert started.json()["import_id"] == import_id and started.json()["job_id"] > 0
    again = await client.post(f"/v1/imports/{import_id}/start")
    assert again.status_code == 409 and again.json()["error"]["code"] == "import_already_started"

    await drain(runtime)
    done = (await client.get(f"/v1/imports/{import_id}")).json()
    assert done["state"] == "completed" and done["progress"] == 1.0
    assert {k: done[k] for k in ("rows_read", "created", "updated", "skipped", "rejected")} == {
        "rows_read": 4,
        "created": 2,
        "updated": 0,
        "skipped": 1,
        "rejected": 1,
    }
    leads = (await client.get("/v1/leads")).json()["items"]
    titles = {lead["email"]: lead["title"] for lead in leads}
    assert titles == {"ada@analytical.io": "Engineer", "grace@navy.example.com": "Rear\r\nAdmiral"}

    rejected = await client.get(f"/v1/imports/{import_id}/rejected.csv")
    assert rejected.status_code == 200
    assert rejected.headers["content-type"].startswith("text/csv")
    # Written with the upload's own delimiter, so it opens like the file that was sent.
    table = list(csv.reader(io.StringIO(rejected.text), delimiter=";"))
    assert table[0] == [
        "row",
        "line",
        "reasons",
        "details",
        *MESSY.decode("utf-8-sig").split("\r\n")[0].split(";"),
    ]
    assert table[1][:3] == ["3", "5", "invalid_email"]  # row 2 spans two lines
    assert table[1][4:6] == ["Bad Row", "not-an-email"]

    listed = (await client.get("/v1/imports")).json()["items"]
    assert [item["id"] for item in listed] == [import_id]


async def test_invalid_mappings_and_files_answer_422(client):
    import_id = (await upload(client)).json()["id"]
    cases = {
        "unknown_field": {"Job": "salary"},
        "unknown_column": {"Nope": "title"},
        "duplicate_field": {"Job": "title", "Notes": "title"},
        "invalid_custom_field": {"Job": "custom:Not Valid"},
        "mapping_without_identity": {"E-mail Address": None, "Organisation": None},
    }
    for code, overrides in cases.items():
        answer = await client.put(f"/v1/imports/{import_id}/mapping", json={"overrides": overrides})
        assert answer.status_code == 422, (code, answer.text)
        assert answer.json()["error"]["code"] == code
    extra = await client.put(f"/v1/imports/{import_id}/mapping", json={"overides": {}})
    assert extra.status_code == 422

    empty = await upload(client, b"")
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_csv"
    no_identity = await upload(client, b"Colour,Size\nred,XL\n")
    assert no_identity.status_code == 201
    start = await client.post(f"/v1/imports/{no_identity.json()['id']}/start")
    assert start.status_code == 422
    assert start.json()["error"]["code"] == "mapping_without_identity"


async def test_another_workspaces_import_is_not_found(client, app, other_workspace):
    import_id = (await upload(client)).json()["id"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=other_workspace.headers
    ) as other:
        for method, path in [
            ("GET", f"/v1/imports/{import_id}"),
            ("GET", f"/v1/imports/{import_id}/preview"),
            ("GET", f"/v1/imports/{import_id}/rejected.csv"),
            ("POST", f"/v1/imports/{import_id}/start"),
        ]:
            answer = await other.request(method, path)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json()["error"]["code"] == "import_not_found"
        put = await other.put(f"/v1/imports/{import_id}/mapping", json={"overrides": {}})
        assert put.status_code == 404
        assert (await other.get("/v1/imports")).json()["items"] == []


async def test_a_viewer_reads_imports_but_cannot_upload_or_start(client, app, owner, make_user):
    import_id = (await upload(client)).json()["id"]
    viewer = await make_user(role="viewer", workspace=owner.workspace_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=viewer.headers
    ) as as_viewer:
        assert (await as_viewer.get(f"/v1/imports/{import_id}")).status_code == 200
        assert (await upload(as_viewer)).status_code == 403
        assert (await as_viewer.post(f"/v1/imports/{import_id}/start")).status_code == 403


async def test_a_file_over_the_limit_is_refused_and_not_kept(client, runtime):
    runtime.settings.import_max_bytes = 2048
    answer = await upload(client, b"Email\n" + b"someone@example.com\n" * 200)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "file_too_large"
    imports_dir = runtime.settings.data_dir / "imports"
    assert not any(p.is_file() for p in imports_dir.rglob("*")) if imports_dir.exists() else True

from __future__ import annotations

import httpx

from leadflood.runtime import Runtime


async def test_suppressions_api(client: httpx.AsyncClient, runtime: Runtime) -> None:
    made = await client.post("/v1/suppressions", json={"kind": "email", "value": "A@X.example"})
    assert made.status_code == 201 and made.json()["value"] == "a@x.example"
    again = await client.post("/v1/suppressions", json={"kind": "email", "value": "a@x.example"})
    assert again.json()["id"] == made.json()["id"]
    bad = await client.post("/v1/suppressions", json={"kind": "phone", "value": "12"})
    assert bad.status_code == 422
    glob = await client.post(
        "/v1/suppressions", json={"kind": "domain", "value": "y.example", "scope": "global"}
    )
    assert glob.status_code == 403
    imported = await client.post(
        "/v1/suppressions/import",
        content=b"value\nb@x.example\nnot valid\nz.example\n",
        headers={"content-type": "text/csv"},
    )
    assert imported.json()["added"] == 2 and len(imported.json()["rejected"]) == 1
    listed = await client.get("/v1/suppressions", params={"kind": "email"})
    assert {s["value"] for s in listed.json()["items"]} == {"a@x.example", "b@x.example"}
    gone = await client.delete(f"/v1/suppressions/{made.json()['id']}")
    assert gone.status_code == 204
    assert (await client.delete(f"/v1/suppressions/{made.json()['id']}")).status_code == 404

"""Keyset pages through the API: every row once, newest first, and back again with
`prev_cursor`, also when rows share a creation time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from leadflood.models import Icp
from leadflood.pagination import decode_cursor, encode_cursor
from tests.support.icps import make_icp

T0 = datetime(2026, 3, 1, tzinfo=UTC)


async def _page(client, cursor: str | None) -> dict:
    params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
    response = await client.get("/v1/icps", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_pages_go_forwards_and_back_over_ties(client, runtime, owner) -> None:
    made = [await make_icp(runtime, owner.workspace_id, name=f"ICP {i}") for i in range(8)]
    async with runtime.db.session() as session:
        for i, icp in enumerate(made):  # three pairs share their second
            at = T0.replace(second=i // 2 * 2)
            await session.execute(update(Icp).where(Icp.id == icp.id).values(created_at=at))

    pages = [await _page(client, None)]
    while pages[-1]["next_cursor"]:
        pages.append(await _page(client, pages[-1]["next_cursor"]))
    ids = [item["id"] for page in pages for item in page["items"]]
    assert sorted(ids) == sorted(str(icp.id) for icp in made)
    keys = [(item["created_at"], item["id"]) for page in pages for item in page["items"]]
    assert keys == sorted(keys, reverse=True)
    assert [len(page["items"]) for page in pages] == [3, 3, 2]
    assert pages[0]["prev_cursor"] is None

    for k in (2, 1):
        back = await _page(client, pages[k]["prev_cursor"])
        assert back["items"] == pages[k - 1]["items"]
        assert (back["prev_cursor"] is None) == (k == 1)
        assert (await _page(client, back["next_cursor"]))["items"] == pages[k]["items"]


@pytest.mark.parametrize("before", [False, True])
def test_a_cursor_round_trips_with_its_direction(before: bool) -> None:
    at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    row_id = uuid.uuid4()
    assert decode_cursor(encode_cursor(at, row_id, before=before)) == (at, row_id, before)


async def test_a_forged_cursor_is_refused_with_its_code(client, owner) -> None:
    response = await client.get("/v1/icps", params={"cursor": "WyJ4IiwgInkiLCAieiJd"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_cursor"

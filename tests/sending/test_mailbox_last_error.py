"""A mailbox without an error shows a dash, never the word "None"; one with an error shows it."""

from __future__ import annotations

import re

import httpx

from leadflood.runtime import Runtime
from tests.factories import make_mailbox
from tests.support.accounts import Account, browser_login


def _last_error_cells(html: str) -> list[str]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in rows]
    # Last error is the sixth column of the mailbox table.
    return [re.sub(r"<[^>]+>", "", c[5]).strip() for c in cells if len(c) == 7]


async def test_the_mailbox_list_shows_a_dash_when_there_is_no_error(
    anon_client: httpx.AsyncClient, owner: Account, runtime: Runtime
) -> None:
    async with runtime.db.session() as session:
        await make_mailbox(
            session,
            owner.workspace_id,
            from_email="sam@sender.example",
            daily_cap=10_000,
            name="Clean",
        )
        await make_mailbox(
            session, owner.workspace_id, name="Broken", from_email="b@sender.example",
            daily_cap=10_000, last_error="535 authentication failed",
        )  # fmt: skip
    await browser_login(anon_client, owner)
    page = await anon_client.get("/settings/mailboxes")
    assert page.status_code == 200
    assert sorted(_last_error_cells(page.text)) == ["535 authentication failed", "—"]
    assert ">None<" not in page.text

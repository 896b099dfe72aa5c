"""`leadflood credentials list|set|delete`: the Settings → Provider credentials page, from the
shell, audited as the command line."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support.accounts import Account
from tests.support.processes import run_cli


async def test_keys_are_set_listed_and_deleted_from_the_shell(
    tmp_path: Path, database_url: str, client: httpx.AsyncClient, owner: Account
) -> None:
    typo = run_cli(
        tmp_path, database_url, "credentials", "set", "apolo", "-w", "Acme", "--secret-stdin",
        stdin="k-1\n",
    )  # fmt: skip
    assert typo.returncode != 0 and "unknown_provider" in typo.stderr

    saved = run_cli(
        tmp_path, database_url, "credentials", "set", "Apollo", "-w", "Acme", "--secret-stdin",
        stdin="k-2\n",
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert "k-2" not in saved.stdout
    assert [c["provider"] for c in (await client.get("/v1/credentials")).json()] == ["apollo"]

    listed = run_cli(tmp_path, database_url, "credentials", "list", "-w", "Acme", "--json")
    assert [row["provider"] for row in json.loads(listed.stdout)] == ["apollo"]

    gone = run_cli(tmp_path, database_url, "credentials", "delete", "apollo", "-w", "Acme")
    assert gone.returncode == 0, gone.stderr
    assert (await client.get("/v1/credentials")).json() == []
    events = (await client.get("/v1/audit-events")).json()["items"]
    made = [(e["action"], e["actor"]) for e in events if e["action"].startswith("credential.")]
    assert made == [
        ("credential.deleted", "command line"),
        ("credential.created", "command line"),
    ]

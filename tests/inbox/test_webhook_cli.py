"""`leadflood inbound endpoints list|set|delete`, as run from a shell."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.support.accounts import Account
from tests.support.processes import run_cli


def test_set_list_and_delete_an_endpoint(tmp_path: Path, database_url: str, owner: Account):
    secret = "whsec_" + base64.b64encode(b"a cli signing secret").decode()
    created = run_cli(
        tmp_path, database_url, "inbound", "endpoints", "set", "resend", "--json",
        LEADFLOOD_WEBHOOK_SECRET=secret,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    (endpoint,) = json.loads(created.stdout)
    assert endpoint["configured"] and "/v1/inbound/resend/" in endpoint["url"]
    assert secret not in created.stdout

    wrong = run_cli(
        tmp_path, database_url, "inbound", "endpoints", "set", "resend", "--public-key", "x"
    )
    assert wrong.returncode == 1 and "inbound_endpoint_invalid" in wrong.stderr

    listed = run_cli(tmp_path, database_url, "inbound", "endpoints", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["kind"]: row for row in json.loads(listed.stdout)}
    assert rows["resend"]["url"] == endpoint["url"] and rows["postmark"]["url"] is None

    removed = run_cli(tmp_path, database_url, "inbound", "endpoints", "delete", "resend")
    assert removed.returncode == 0, removed.stderr
    again = run_cli(tmp_path, database_url, "inbound", "endpoints", "delete", "resend")
    assert again.returncode == 1 and "inbound_endpoint_not_found" in again.stderr

"""The shipped alert rules and Grafana dashboard use only metrics /metrics really exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

OPS = Path(__file__).parents[2] / "docs" / "ops"
NAME = re.compile(r"\bleadflood_[a-z_]+\b")


def _exposed(body: str) -> set[str]:
    return {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line[:1] != "#"}


async def test_alert_rules_and_dashboard_name_exposed_metrics(client) -> None:
    await client.get("/health")
    exposed = _exposed((await client.get("/metrics")).text) | {
        # Families without samples on an empty database still print their HELP line.
        line.split()[2]
        for line in (await client.get("/metrics")).text.splitlines()
        if line.startswith("# HELP ")
    }
    rules = yaml.safe_load((OPS / "alerts.yml").read_text())["groups"][0]["rules"]
    assert {rule["alert"] for rule in rules} >= {
        "LeadFloodHighErrorRate", "LeadFloodSlowRequests", "LeadFloodQueueBacklog",
        "LeadFloodFailedJobs", "LeadFloodBounceSpike",
    }  # fmt: skip
    used = {name for rule in rules for name in NAME.findall(rule["expr"])}
    dashboard = json.loads((OPS / "grafana-dashboard.json").read_text())
    used |= {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in NAME.findall(target["expr"])
    }
    assert used and not (used - exposed), used - exposed

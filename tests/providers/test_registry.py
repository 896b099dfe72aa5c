"""The registry hands out one client per (provider, key): a workspace's own key first, the
process-wide setting otherwise, and a clear provider_not_configured without either."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflood.providers.base import ProviderNotConfiguredError
from leadflood.providers.registry import KEYED, ProviderRegistry
from leadflood.settings import Settings, load_settings

keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=40)


def _settings(tmp: Path, **values: str | None) -> Settings:
    return load_settings(
        environment="test",
        data_dir=tmp / "data",
        secret_key="x" * 48,
        apollo_api_key=values.get("apollo"),
        hunter_api_key=values.get("hunter"),
    )


@pytest.fixture
async def bare(tmp_path: Path) -> AsyncIterator[ProviderRegistry]:
    registry = ProviderRegistry(_settings(tmp_path))
    yield registry
    await registry.aclose()


@pytest.mark.parametrize("name", KEYED)
def test_without_any_key_the_error_says_where_to_add_one(bare: ProviderRegistry, name) -> None:
    with pytest.raises(ProviderNotConfiguredError) as caught:
        bare.enricher(name)
    assert caught.value.code == "provider_not_configured"
    assert caught.value.provider == name
    assert "Settings → Credentials" in str(caught.value)
    assert f"{name.upper()}_API_KEY" in str(caught.value)


def test_hunter_serves_enrichment_and_verification_with_one_client(bare) -> None:
    enricher = bare.enricher("hunter", api_key="key-a")
    assert bare.verifier("hunter", api_key="key-a") is enricher
    assert bare.verifier("hunter", api_key="key-b") is not enricher


def test_apollo_serves_search_and_enrichment_with_one_client(bare) -> None:
    source = bare.lead_source("apollo", api_key="key-a")
    assert bare.enricher("apollo", api_key="key-a") is source
    assert bare.lead_source("apollo", api_key="key-b") is not source


@settings(max_examples=30, deadline=None)
@given(first=keys, second=keys)
def test_one_client_per_key(tmp_path_factory, first: str, second: str) -> None:
    registry = ProviderRegistry(_settings(tmp_path_factory.mktemp("r")))
    a = registry.verifier("hunter", api_key=first)
    b = registry.verifier("hunter", api_key=second)
    assert (a is b) == (first == second)


def test_a_workspace_key_wins_over_the_process_wide_one(tmp_path: Path) -> None:
    registry = ProviderRegistry(_settings(tmp_path, hunter="env-key"))
    assert registry.key_for("hunter") == "env-key"
    assert registry.key_for("hunter", "own-key") == "own-key"
    assert registry.enricher("hunter") is registry.verifier("hunter", api_key="env-key")
    assert registry.enricher("hunter", api_key="own-key") is not registry.enricher("hunter")


def test_configured_counts_stored_credentials_and_process_keys(tmp_path: Path) -> None:
    registry = ProviderRegistry(_settings(tmp_path, apollo="env-key"))
    assert registry.configured() == {"sandbox": True, "apollo": True, "hunter": False}
    assert registry.configured(["hunter"]) == {"sandbox": True, "apollo": True, "hunter": True}


def test_the_sandbox_needs_no_key(bare) -> None:
    assert bare.enricher("sandbox") is bare.enricher("sandbox")
    assert bare.verifier("sandbox").name == "sandbox"
    assert bare.lead_source("sandbox").name == "sandbox"

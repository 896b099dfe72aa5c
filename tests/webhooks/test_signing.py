from __future__ import annotations

import httpx
import pytest

from leadflood.errors import ConfigError
from leadflood.providers.http import build_webhook_client
from leadflood.settings import load_settings
from leadflood.webhooks import signing
from leadflood.webhooks.errors import UrlInvalid
from leadflood.webhooks.service import check_url


def test_the_published_standard_webhooks_vector() -> None:
    signature = signing.sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        '{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_each_secret_is_new_and_well_formed() -> None:
    one, two = signing.new_secret(), signing.new_secret()
    assert one != two and one.startswith("whsec_") and len(one) == 6 + 44


async def test_the_real_client_refuses_hosts_that_resolve_to_private_addresses() -> None:
    async with build_webhook_client() as client:
        for url in ("http://localhost:9/hook", "http://127.0.0.1:9/hook"):
            with pytest.raises(httpx.ConnectError, match="not a public address"):
                await client.post(url, content=b"{}")


async def test_an_operator_can_allow_a_private_network() -> None:
    allowed = load_settings(WEBHOOK_ALLOWED_NETWORKS="127.0.0.1/32").webhook_networks
    assert check_url("http://127.0.0.1:9/hook", allowed) == "http://127.0.0.1:9/hook"
    with pytest.raises(UrlInvalid):
        check_url("http://10.1.2.3/hook", allowed)
    async with build_webhook_client(allowed=allowed) as client:
        with pytest.raises(httpx.ConnectError, match="not a public address"):
            await client.post("http://10.1.2.3:9/hook", content=b"{}")
        with pytest.raises(httpx.ConnectError) as refused:  # allowed: it really connects
            await client.post("http://127.0.0.1:9/hook", content=b"{}")
        assert "public" not in str(refused.value)
    with pytest.raises(ConfigError, match="WEBHOOK_ALLOWED_NETWORKS"):
        load_settings(WEBHOOK_ALLOWED_NETWORKS="not-a-network")

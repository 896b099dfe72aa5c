from __future__ import annotations

import httpx
import pytest

from leadflood.providers.http import build_webhook_client
from leadflood.webhooks import signing


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

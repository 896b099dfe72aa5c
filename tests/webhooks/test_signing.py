from __future__ import annotations

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

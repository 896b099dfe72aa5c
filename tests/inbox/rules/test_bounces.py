from __future__ import annotations

import pytest

from leadflood.inbox.rules.bounces import bounce_type_of


@pytest.mark.parametrize(
    ("status", "diagnostic", "expected"),
    [
        ("5.1.1", "550 5.1.1 User unknown", ("hard", "user_unknown")),
        ("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound", ("hard", "user_unknown")),
        ("5.1.2", "550 5.1.2 Host unknown", ("hard", "bad_domain")),
        ("5.5.0", "550 5.5.0 Requested action not taken", ("hard", "other")),
        (
            "5.5.0",
            "550 5.5.0 Requested action not taken: mailbox unavailable",
            ("hard", "user_unknown"),
        ),
        ("5.5.0", "550 5.5.0 User unknown", ("hard", "user_unknown")),
        (
            "5.2.1",
            "550 5.2.1 The email account that you tried to reach is disabled",
            ("hard", "mailbox_disabled"),
        ),
        ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied", ("hard", "user_unknown")),
        ("5.2.2", "552 5.2.2 Mailbox full", ("soft", "mailbox_full")),
        ("4.2.2", "452 4.2.2 Over quota", ("soft", "mailbox_full")),
        ("4.4.7", None, ("soft", "expired")),
        ("4.4.1", "connection timed out", ("soft", "temporary")),
        ("5.7.1", "554 5.7.1 Message rejected as spam", ("block", "policy")),
        ("5.7.26", "550 5.7.26 Unauthenticated email is not accepted (DMARC)", ("block", "policy")),
        ("4.7.0", "421 4.7.0 Try again later", ("block", "policy")),
        ("5.1.8", "553 5.1.8 Sender address rejected", ("block", "policy")),
        ("5.3.4", "552 5.3.4 Message size exceeds fixed limit", ("block", "message_rejected")),
        ("5.0.0", "550 User unknown", ("hard", "user_unknown")),
        ("5.0.0", "550 Mailbox quota exceeded", ("soft", "mailbox_full")),
        ("5.0.0", "554 rejected: listed at a spam block list", ("block", "policy")),
        (None, "550 No such user here", ("hard", "user_unknown")),
        (None, "451 Temporary local problem", ("soft", "temporary")),
        (None, None, ("soft", "other")),
    ],
)
def test_bounce_types(status, diagnostic, expected):
    bounce_type, label, why = bounce_type_of(status, diagnostic)
    assert (bounce_type, label) == expected
    assert why


def test_a_permanent_failure_with_no_reason_is_hard():
    assert bounce_type_of(None, None, "This is a permanent error; I've given up.")[0] == "hard"

"""Whatever arrives, classification returns a result: it never raises."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflood.inbox import rules

HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Subject",
        "Date",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Auto-Submitted",
        "Message-ID",
        "In-Reply-To",
        "References",
        "X-Failed-Recipients",
    ]
)
CONTENT_TYPES = st.sampled_from(
    [
        b"multipart/report; report-type=delivery-status; boundary=b",
        b"multipart/report; report-type=feedback-report; boundary=b",
        b"multipart/alternative; boundary=b",
        b"message/delivery-status",
        b"message/rfc822",
        b"text/html; charset=x-unknown",
        b"text/plain; charset=utf-7",
    ]
)
PART_TYPES = st.sampled_from(
    [b"message/delivery-status", b"message/feedback-report", b"message/rfc822", b"text/html"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_classify(raw):
    result = rules.classify(raw)
    assert result.kind in (
        "reply",
        "auto_reply",
        "bounce",
        "bounce_warning",
        "unsubscribe",
        "complaint",
    )
    assert result.evidence
    result.to_json()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(st.tuples(HEADER_NAMES, st.binary(max_size=80)), max_size=8),
    content_type=CONTENT_TYPES,
    parts=st.lists(st.tuples(PART_TYPES, st.binary(max_size=400)), max_size=4),
    body=st.binary(max_size=600),
)
def test_broken_mime_classifies(headers, content_type, parts, body):
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    raw += b"Content-Type: " + content_type + b"\r\n\r\n" + body
    for part_type, payload in parts:
        raw += b"\r\n--b\r\nContent-Type: " + part_type + b"\r\n\r\n" + payload
    result = rules.classify(raw)
    assert result.evidence
    result.to_json()


@pytest.mark.parametrize(
    "parameter",
    [
        b"report-type=delivery-status",
        b"report-type*=us-ascii''delivery%2Dstatus",
        b"report-type*0*=us-ascii''delivery; report-type*1=-status",
    ],
)
def test_the_report_type_is_read_plain_or_rfc2231_encoded(parameter: bytes) -> None:
    raw = b"Content-Type: multipart/report; " + parameter + b"; boundary=x\r\n\r\n--x--\r\n"
    assert rules.parse(raw).report_type == "delivery-status"

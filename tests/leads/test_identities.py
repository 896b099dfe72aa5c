"""The fast paths of leadflood.leads.identities against the full checks they stand in for."""

from __future__ import annotations

import sys

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as phone_timezones

from leadflood.imports.validation import NormalizedLead
from leadflood.imports.validation_worker import copy_text, lead_line
from leadflood.leads import identities as checks

LOCAL_CHARS = "abcXYZ019._%+-!#$&'*/=?^`{|}~\"(),:;<>@[\\] é"
LABELS = ["acme", "Company5", "b", "x-y", "-bad", "bad-", "a_b", "bücher", "xn--bcher-kva",
          "123", "a" * 63, "a" * 64, ""]  # fmt: skip
TLDS = ["com", "co", "IO", "local", "localhost", "test", "invalid", "onion", "arpa", "c", "123"]


def full_check(address: str) -> str | None:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


domains = st.builds(
    lambda labels, tld, dot: ".".join([*labels, tld]) + dot,
    st.lists(st.sampled_from(LABELS), max_size=4),
    st.sampled_from(TLDS),
    st.sampled_from(["", "", "", "."]),
)
addresses = st.one_of(
    st.builds(
        lambda local, at, domain: local + at + domain,
        st.text(alphabet=LOCAL_CHARS, min_size=0, max_size=70),
        st.sampled_from(["@", "@", "@", "@@", ""]),
        domains,
    ),
    st.emails(),
)


@settings(max_examples=1500, deadline=None)
@given(addresses)
@example("ada.lovelace5@company5.com")
@example("ADA.LOVELACE5@COMPANY5.COM")
@example("a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 57 + ".com")
@example("a" * 65 + "@b.co")
@example("a..b@b.co")
@example("a@localhost")
def test_email_fast_path_accepts_and_rejects_what_email_validator_does(address: str) -> None:
    assert checks.email_problem(address) == full_check(address)


def test_plain_addresses_take_the_fast_path() -> None:
    assert checks._PLAIN_ADDRESS.fullmatch("jane.doe+x@acme.io")
    assert checks.email_problem("jane.doe+x@acme.io") is None


HOSTS = ["www.linkedin.com", "linkedin.com", "de.linkedin.com", "LinkedIn.COM", "www.linkedin.com.",
         "evil.com", "notlinkedin.com", "u@www.linkedin.com", "a..linkedin.com", "-x.linkedin.com",
         "[::1]", ""]  # fmt: skip
PATHS = ["/in/", "/pub/", "/sales/lead/", "/talent/profile/", "/IN/", "/company/", "/in", "/", ""]
urls = st.builds(
    lambda scheme, host, port, prefix, segments, tail: (
        scheme + host + port + prefix + "/".join(segments) + tail
    ),
    st.sampled_from(["", "https://", "http://", "HTTPS://", "ftp://", "//", "https:/"]),
    st.sampled_from(HOSTS),
    st.sampled_from(["", "", ":443", ":x"]),
    st.sampled_from(PATHS),
    st.lists(st.text(alphabet="aZ09-_.~%é ,:@\t\n/", max_size=8), max_size=3),
    st.sampled_from(["", "/", "//", "?trk=x", "#f", "/?a=b#c", "?\n"]),
)


@settings(max_examples=1500, deadline=None)
@given(urls)
@example("https://www.linkedin.com/in/ada-5")
@example("https://www.linkedin.com/IN/ada-5")
@example("www.linkedin.com/in/ada\tx")
def test_linkedin_fast_path_matches_the_url_parser(url: str) -> None:
    assert checks.linkedin_url(url) == checks.linkedin_url_checked(url)


def test_common_linkedin_urls_take_the_fast_path() -> None:
    assert checks._PLAIN_LINKEDIN.fullmatch("https://www.linkedin.com/in/ada-5/")
    assert checks.linkedin_url("https://www.linkedin.com/in/ada-5/") == (
        "https://www.linkedin.com/in/ada-5"
    )


def zone_of(number: phonenumbers.PhoneNumber, region: str | None) -> str | None:
    if region is not None and not phonenumbers.is_valid_number_for_region(number, region):
        return None
    zones = [z for z in phone_timezones.time_zones_for_number(number) if "/" in z]
    return zones[0] if len(zones) == 1 and checks.canonical_zone(zones[0]) else None


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
    st.integers(0, 999),
    st.sampled_from([None, "US", "IT"]),
)
def test_zone_read_back_from_e164_is_the_zone_of_the_parsed_number(
    region: str, seed: int, asked: str | None
) -> None:
    example_number = phonenumbers.example_number(region)
    if example_number is None:
        return
    national = str(example_number.national_number)
    text = national[:-3] + str(seed).zfill(3) if len(national) > 3 else national
    phone = checks.phone_e164(text, region)
    if phone is None:
        return
    number = phonenumbers.parse(text, region)
    assert checks.number_zone(phone[0], asked) == zone_of(number, asked)


def test_casefold_never_shortens_text() -> None:
    # validation skips the null-marker lookup for values longer than every marker.
    assert all(len(chr(cp).casefold()) >= 1 for cp in range(sys.maxunicode + 1))


TEXT_FIELDS = ("email", "first_name", "last_name", "title", "seniority", "department", "phone",
               "linkedin_url", "company_name", "company_domain", "industry", "city",
               "timezone", "provider_person_id")  # fmt: skip
LEAD_COLUMNS = ("email", "first_name", "last_name", "title", "seniority", "department", "phone",
                "linkedin_url", "company_name", "company_domain", "industry", "employee_count",
                "city", "country", "timezone", "website", "provider_person_id")  # fmt: skip
tricky = st.one_of(st.none(), st.text(alphabet="ab\\\t\n\r\x00N é", max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.lists(tricky, min_size=14, max_size=14), st.dictionaries(st.text(max_size=3), tricky))
def test_copy_line_escapes_exactly_like_escaping_every_value(
    values: list[str | None], custom: dict[str, str | None]
) -> None:
    lead = NormalizedLead(custom={k: v for k, v in custom.items() if v is not None})
    for name, value in zip(TEXT_FIELDS, values, strict=True):
        setattr(lead, name, value)
    line = lead_line(7, "id", "key", lead)
    columns = line.removesuffix("\n").split("\t")
    assert len(columns) == 21
    assert columns[3:20] == [copy_text(getattr(lead, name)) for name in LEAD_COLUMNS]

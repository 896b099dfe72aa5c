from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflood.imports.csv_reader import RowProblem
from leadflood.imports.mapping import auto_map
from leadflood.imports.validation import (
    NormalizedLead,
    Rejection,
    dedupe_key,
    normalize_row,
    split_full_name,
)
from leadflood.leads.countries import country_code, zone_for_country

HEADERS = ["Email", "First Name", "Last Name", "Full Name", "Phone", "Country", "Website",
           "Person Linkedin Url", "Company Name", "Company Domain", "Time Zone", "# Employees",
           "Notes"]  # fmt: skip
MAPPING = auto_map(HEADERS)


def row(**values: str) -> dict[str, str]:
    raw = dict.fromkeys(HEADERS, "")
    for key, value in values.items():
        raw[key.replace("_", " ")] = value
    return raw


def lead(**values: str) -> NormalizedLead:
    result = normalize_row(row(**values), MAPPING)
    assert isinstance(result, NormalizedLead), result
    return result


def codes(**values: str) -> list[str]:
    result = normalize_row(row(**values), MAPPING)
    assert isinstance(result, Rejection), result
    return result.codes


def test_a_complete_row() -> None:
    got = lead(
        Email="  Jane.Doe@Acme.io ",
        Full_Name="Dr. Jane van der Berg",
        Phone="'030 1234567",
        Country="Deutschland",
        Website="HTTP://WWW.Acme.io/",
        Person_Linkedin_Url="de.linkedin.com/in/jane-doe/?trk=x",
        Company_Name="Acme",
        Notes="met at SaaStr",
        **{"# Employees": "1,000+"},
    )
    assert got.email == "Jane.Doe@Acme.io"
    assert (got.first_name, got.last_name) == ("Jane", "van der Berg")
    assert got.phone == "+49301234567"
    assert got.country == "DE"
    assert got.timezone == "Europe/Berlin"
    assert got.website == "https://www.acme.io"
    assert got.company_domain == "acme.io"
    assert got.linkedin_url == "https://www.linkedin.com/in/jane-doe"
    assert got.employee_count == 1000
    assert got.custom == {"notes": "met at SaaStr"}


@pytest.mark.parametrize(
    ("text", "count"),
    [("51-200", 51), ("200+", 200), ("1,000", 1000), ("10k", 10_000), ("10,001+", 10_001),
     ("5 000 employees", 5000), ("11 to 50", 11), ("1.5k", 1500)],
)  # fmt: skip
def test_employee_counts(text: str, count: int) -> None:
    assert lead(Email="a@b.co", **{"# Employees": text}).employee_count == count


def test_company_domain_from_email_but_not_free_mail() -> None:
    assert lead(Email="j@sub.acme.co.uk").company_domain == "sub.acme.co.uk"
    assert lead(Email="j@gmail.com").company_domain is None
    assert lead(Email="j@mailinator.com").company_domain is None
    assert lead(Email="j@gmail.com", Company_Domain="https://www.acme.com/x").company_domain == (
        "acme.com"
    )


def test_timezone_explicit_inferred_or_rejected() -> None:
    assert lead(Email="a@b.co", Time_Zone="america/new_york").timezone == "America/New_York"
    assert lead(Email="a@b.co", Time_Zone="PST").timezone == "America/Los_Angeles"
    assert lead(Email="a@b.co", Country="United States").timezone is None
    assert lead(Email="a@b.co", Phone="+1 415 555 2671").timezone == "America/Los_Angeles"
    assert codes(Email="a@b.co", Time_Zone="Mars/Olympus") == ["invalid_timezone"]


def test_national_phone_needs_a_region() -> None:
    assert codes(Email="a@b.co", Phone="030 1234567") == ["invalid_phone"]
    got = normalize_row(row(Email="a@b.co", Phone="030 1234567"), MAPPING, default_region="DE")
    assert isinstance(got, NormalizedLead) and got.phone == "+49301234567"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"Email": "not-an-email"}, ["invalid_email"]),
        ({"Email": "a@b.co", "Phone": "12"}, ["invalid_phone"]),
        ({"Email": "a@b.co", "Website": "not a site"}, ["invalid_website"]),
        ({"Email": "a@b.co", "Person_Linkedin_Url": "https://linkedin.com/company/acme"},
         ["invalid_linkedin_url"]),
        ({"Email": "a@b.co", "# Employees": "many"}, ["invalid_employee_count"]),
        ({"First_Name": "Jane", "Phone": "+49301234567"}, ["missing_identity"]),
        ({"Email": "x@", "Phone": "nope"}, ["invalid_email", "invalid_phone"]),
        ({"Email": "a@b.co", "Country": "EMEA"}, ["invalid_country"]),
        ({"Email": "a@b.co", "First_Name": "J" * 121}, ["value_too_long"]),
    ],
)  # fmt: skip
def test_rejections_carry_every_reason(values: dict[str, str], expected: list[str]) -> None:
    assert codes(**values) == expected


def test_identity_by_linkedin_or_name_and_company() -> None:
    assert lead(Person_Linkedin_Url="https://www.linkedin.com/in/x").email is None
    assert lead(First_Name="Jane", Company_Name="Acme").company_name == "Acme"


def test_null_markers_are_absent_values() -> None:
    got = lead(Email="a@b.co", Phone="N/A", Website="-", Time_Zone="null")
    assert (got.phone, got.website, got.timezone) == (None, None, None)


def test_reader_problem_rejects_the_row() -> None:
    result = normalize_row(
        row(Email="a@b.co"), MAPPING, problem=RowProblem("ragged_row", "3 fields, header has 13")
    )
    assert isinstance(result, Rejection) and result.codes == ["ragged_row"]
    assert result.raw["Email"] == "a@b.co"


def test_split_full_name() -> None:
    assert split_full_name("Berg, Jane") == ("Jane", "Berg")
    assert split_full_name("Jane Berg, PhD") == ("Jane", "Berg")
    assert split_full_name("Cher") == ("Cher", None)
    assert split_full_name("Mr. John Smith Jr.") == ("John", "Smith")


def test_dedupe_key() -> None:
    assert dedupe_key(lead(Email="A@B.co")) == dedupe_key(lead(Email="a@b.CO")) == "email:a@b.co"
    assert dedupe_key(lead(Person_Linkedin_Url="linkedin.com/in/X")) == (
        "linkedin:https://www.linkedin.com/in/x"
    )
    assert dedupe_key(lead(First_Name="Jane", Last_Name="Doe", Company_Domain="acme.com")) == (
        "name:jane doe|acme.com"
    )
    assert dedupe_key(NormalizedLead()) is None


def test_countries() -> None:
    assert country_code("U.S.A.") == "US"
    assert country_code("Côte d'Ivoire") == "CI"
    assert country_code("Atlantis") is None
    assert zone_for_country("DE") == "Europe/Berlin"  # Büsingen keeps Berlin's clock
    assert zone_for_country("ES") is None  # the Canaries are an hour behind


text = st.text(max_size=40)
any_value = st.one_of(
    text,
    st.sampled_from(["a@b.co", "x@", "+1 415 555 2671", "030 1234567", "acme.io", "PST", "DE",
                     "linkedin.com/in/x", "51-200", "n/a", "Europe/Paris", "http://[::1", "∞"]),
)  # fmt: skip


@given(st.fixed_dictionaries({h: any_value for h in HEADERS}), st.sampled_from([None, "US", "FR"]))
def test_every_row_is_a_lead_or_a_rejection(raw: dict[str, str], region: str | None) -> None:
    result = normalize_row(raw, MAPPING, default_region=region)
    assert isinstance(result, NormalizedLead | Rejection)
    if isinstance(result, Rejection):
        assert result.reasons and all(r.code for r in result.reasons)
    else:
        assert dedupe_key(result) is not None


@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)), st.integers(0, 10**9))
def test_e164_output_always_reparses_as_valid(region: str, seed: int) -> None:
    example = phonenumbers.example_number(region)
    if example is None:
        return
    national = str(example.national_number)
    digits = national[:-3] + str(seed % 1000).zfill(3) if len(national) > 3 else national
    result = normalize_row(row(Email="a@b.co", Phone=digits), MAPPING, default_region=region)
    if isinstance(result, NormalizedLead):
        assert result.phone is not None and result.phone.startswith("+")
        assert phonenumbers.is_valid_number(phonenumbers.parse(result.phone))
    else:
        assert result.codes == ["invalid_phone"]


def test_every_region_example_number_becomes_e164() -> None:
    accepted = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        if example is None:
            continue
        national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
        result = normalize_row(row(Email="a@b.co", Phone=national), MAPPING, default_region=region)
        assert isinstance(result, NormalizedLead), (region, national, result)
        assert result.phone == phonenumbers.format_number(
            example, phonenumbers.PhoneNumberFormat.E164
        )
        accepted += 1
    assert accepted > 200

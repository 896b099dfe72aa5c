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


def warnings(**values: str) -> list[str]:
    return [r.code for r in lead(**values).warnings]


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


def test_timezone_explicit_inferred_or_left_out() -> None:
    assert lead(Email="a@b.co", Time_Zone="america/new_york").timezone == "America/New_York"
    assert lead(Email="a@b.co", Time_Zone="PST").timezone == "America/Los_Angeles"
    assert lead(Email="a@b.co", Country="United States").timezone is None
    assert lead(Email="a@b.co", Phone="+1 415 555 2671").timezone == "America/Los_Angeles"
    assert warnings(Email="a@b.co", Time_Zone="Mars/Olympus") == ["invalid_timezone"]
    # An unusable zone is left out; the country's own zone is still a fact about the lead.
    kept = lead(Email="a@b.co", Time_Zone="Mars/Olympus", Country="France")
    assert kept.timezone == "Europe/Paris" and [r.code for r in kept.warnings] == [
        "invalid_timezone"
    ]


def test_national_phone_read_with_the_rows_country_then_the_default() -> None:
    assert warnings(Email="a@b.co", Phone="030 1234567") == ["invalid_phone"]
    got = normalize_row(row(Email="a@b.co", Phone="030 1234567"), MAPPING, default_region="DE")
    assert isinstance(got, NormalizedLead) and got.phone == "+49301234567" and not got.warnings
    # The row's own country comes first: a French number in a German workspace.
    got = normalize_row(
        row(Email="a@b.co", Phone="06 12 34 56 78", Country="France"), MAPPING, default_region="DE"
    )
    assert isinstance(got, NormalizedLead) and got.phone == "+33612345678"
    # An unknown country falls back to the default, with a warning about the country only.
    got = normalize_row(
        row(Email="a@b.co", Phone="030 1234567", Country="EMEA"), MAPPING, default_region="DE"
    )
    assert isinstance(got, NormalizedLead) and got.phone == "+49301234567"
    assert [r.code for r in got.warnings] == ["invalid_country"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"Email": "not-an-email"}, ["invalid_email"]),
        ({"First_Name": "Jane", "Phone": "+49301234567"}, ["missing_identity"]),
        ({"Email": "x@", "Phone": "nope"}, ["invalid_email", "invalid_phone"]),
        ({"First_Name": "Jane", "Person_Linkedin_Url": "linkedin.com/company/x"},
         ["invalid_linkedin_url", "missing_identity"]),
    ],
)  # fmt: skip
def test_rejections_carry_every_reason(values: dict[str, str], expected: list[str]) -> None:
    assert codes(**values) == expected


@pytest.mark.parametrize(
    ("values", "expected", "left_out"),
    [
        ({"Email": "a@b.co", "Phone": "12"}, ["invalid_phone"], "phone"),
        ({"Email": "a@b.co", "Website": "not a site"}, ["invalid_website"], "website"),
        ({"Email": "a@b.co", "Person_Linkedin_Url": "https://linkedin.com/company/acme"},
         ["invalid_linkedin_url"], "linkedin_url"),
        ({"Email": "a@b.co", "# Employees": "many"}, ["invalid_employee_count"],
         "employee_count"),
        ({"Email": "a@b.co", "# Employees": "9999999999"}, ["value_too_large"],
         "employee_count"),
        ({"Email": "a@b.co", "Country": "EMEA"}, ["invalid_country"], "country"),
        ({"Email": "a@b.co", "First_Name": "J" * 121}, ["value_too_long"], "first_name"),
        ({"Email": "a@gmail.com", "Company_Domain": "not a domain"}, ["invalid_company_domain"],
         "company_domain"),
        ({"Person_Linkedin_Url": "linkedin.com/in/x", "Time_Zone": "Mars"}, ["invalid_timezone"],
         "timezone"),
    ],
)  # fmt: skip
def test_an_unusable_optional_value_is_left_out_with_a_warning(
    values: dict[str, str], expected: list[str], left_out: str
) -> None:
    got = lead(**{k: v for k, v in values.items()})
    assert [r.code for r in got.warnings] == expected
    assert getattr(got, left_out) is None
    assert all(r.field == left_out for r in got.warnings)


def test_several_phone_columns_first_usable_wins_others_kept() -> None:
    headers = ["Email", "First Phone", "Corporate Phone", "Mobile Phone", "Work Direct Phone"]
    mapping = auto_map(headers)
    assert set(mapping.values()) == {"email", "phone"}

    def judged(*phones: str) -> NormalizedLead:
        got = normalize_row(dict(zip(headers, ["a@b.co", *phones], strict=True)), mapping)
        assert isinstance(got, NormalizedLead), got
        return got

    # Mobile, then work direct, then first, then corporate: whoever picks up should be the person.
    got = judged("+1 415 555 0101", "+1 415 555 0102", "+1 415 555 0103", "+1 415 555 0104")
    assert got.phone == "+14155550103"
    assert got.custom == {
        "first_phone": "+14155550101",
        "corporate_phone": "+14155550102",
        "work_direct_phone": "+14155550104",
    }
    got = judged("", "+1 415 555 0102", "junk", "")
    assert got.phone == "+14155550102"
    assert [(r.code, "'Mobile Phone'" in r.message) for r in got.warnings] == [
        ("invalid_phone", True)
    ]
    got = judged("+1 415 555 0101", "", "", "+1 (415) 555-0101 ext. 12")
    assert got.phone == "+14155550101" and got.custom == {"phone_extension": "12"}


def test_company_columns_the_cleaned_name_first() -> None:
    headers = ["Email", "Company", "Company Name for Emails"]
    mapping = auto_map(headers)

    def judged(legal: str, clean: str) -> NormalizedLead:
        got = normalize_row(dict(zip(headers, ["a@b.co", legal, clean], strict=True)), mapping)
        assert isinstance(got, NormalizedLead), got
        return got

    assert judged("Acme, Inc.", "Acme").company_name == "Acme"
    assert judged("Acme, Inc.", "Acme").custom == {"company": "Acme, Inc."}
    assert judged("Acme, Inc.", "").company_name == "Acme, Inc."
    assert judged("Acme", "Acme").custom == {}


def test_a_person_id_is_an_identity() -> None:
    mapping = auto_map(["Apollo Contact Id", "First Name"])
    got = normalize_row({"Apollo Contact Id": "64a1f0c2e4", "First Name": "Jo"}, mapping)
    assert isinstance(got, NormalizedLead) and got.provider_person_id == "64a1f0c2e4"
    assert dedupe_key(got) == "person:64a1f0c2e4"


def test_identity_by_linkedin_or_name_and_company() -> None:
    assert lead(Person_Linkedin_Url="https://www.linkedin.com/in/x").email is None
    assert lead(First_Name="Jane", Company_Name="Acme").company_name == "Acme"


def test_null_markers_are_absent_values() -> None:
    got = lead(Email="a@b.co", Phone="N/A", Website="-", Time_Zone="null")
    assert (got.phone, got.website, got.timezone) == (None, None, None)


def test_a_leads_export_has_no_placeholders() -> None:
    from leadflood.leads.columns import EXPORT_COLUMNS

    exported = {column: "" for column in EXPORT_COLUMNS} | {
        "email": "a@b.co", "first_name": "None", "last_name": "Null", "title": "Undefined",
        "city": "#N/A", "department": "n/a",
    }  # fmt: skip
    got = normalize_row(exported, auto_map(list(exported)))
    assert isinstance(got, NormalizedLead)
    assert (got.first_name, got.last_name, got.title) == ("None", "Null", "Undefined")
    # A spreadsheet's symbols stay no value, in an edited export too.
    assert (got.city, got.department) == (None, None)
    # The same names in any other file are placeholders.
    other = normalize_row(
        {"Email": "a@b.co", "First Name": "None", "Last Name": "Null"},
        auto_map(["Email", "First Name", "Last Name"]),
    )
    assert isinstance(other, NormalizedLead) and (other.first_name, other.last_name) == (None, None)


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
        # Only a row that cannot be a lead is rejected: a broken email, or no identity at all.
        assert result.codes[-1] == "missing_identity" or "invalid_email" in result.codes
    else:
        assert dedupe_key(result) is not None
        assert all(r.field is not None for r in result.warnings)
    if raw["Email"] == "a@b.co" or (
        not raw["Email"].strip() and raw["Person Linkedin Url"] == ("linkedin.com/in/x")
    ):
        assert isinstance(result, NormalizedLead)


@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)), st.integers(0, 10**9))
def test_e164_output_always_reparses_as_valid(region: str, seed: int) -> None:
    example = phonenumbers.example_number(region)
    if example is None:
        return
    national = str(example.national_number)
    digits = national[:-3] + str(seed % 1000).zfill(3) if len(national) > 3 else national
    result = normalize_row(row(Email="a@b.co", Phone=digits), MAPPING, default_region=region)
    assert isinstance(result, NormalizedLead)
    if result.phone is not None:
        assert result.phone.startswith("+")
        assert phonenumbers.is_valid_number(phonenumbers.parse(result.phone))
        assert not result.warnings
    else:
        assert [r.code for r in result.warnings] == ["invalid_phone"]


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

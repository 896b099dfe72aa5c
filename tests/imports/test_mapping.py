from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflood.errors import InvalidInput
from leadflood.imports.mapping import (
    LEAD_FIELDS,
    MULTI_FIELDS,
    MappingError,
    apply_overrides,
    auto_map,
    has_identity,
    normalize_header,
)

APOLLO = [
    "First Name", "Last Name", "Title", "Company", "Company Name for Emails", "Email",
    "Email Status", "Seniority", "Departments", "Work Direct Phone", "Mobile Phone",
    "Corporate Phone", "# Employees", "Industry", "Person Linkedin Url", "Website",
    "Company Linkedin Url", "City", "State", "Country", "Company Country", "Apollo Contact Id",
]  # fmt: skip


def test_apollo_export() -> None:
    mapping = auto_map(APOLLO)
    assert mapping["First Name"] == "first_name"
    # Both company columns feed the company (the cleaned name first), every phone column the
    # phone (see test_validation for the order).
    assert mapping["Company Name for Emails"] == "company_name"
    assert mapping["Company"] == "company_name"
    assert mapping["Email"] == "email"
    assert mapping["Email Status"] == "custom:email_status"
    assert mapping["Mobile Phone"] == "phone"
    assert mapping["Work Direct Phone"] == "phone"
    assert mapping["Corporate Phone"] == "phone"
    assert mapping["Apollo Contact Id"] == "provider_person_id"
    assert mapping["# Employees"] == "employee_count"
    assert mapping["Person Linkedin Url"] == "linkedin_url"
    assert mapping["Company Linkedin Url"] == "custom:company_linkedin_url"
    assert mapping["Departments"] == "department"
    assert mapping["Country"] == "country"
    assert mapping["Company Country"] == "custom:company_country"


def test_hubspot_export() -> None:
    headers = ["Email", "First Name", "Last Name", "Job Title", "Company Name", "Phone Number",
               "LinkedIn URL", "Country/Region", "Time Zone", "Number of Employees", "Website URL",
               "Record ID"]  # fmt: skip
    assert auto_map(headers) == {
        "Email": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Job Title": "title",
        "Company Name": "company_name",
        "Phone Number": "phone",
        "LinkedIn URL": "linkedin_url",
        "Country/Region": "country",
        "Time Zone": "timezone",
        "Number of Employees": "employee_count",
        "Website URL": "website",
        "Record ID": "custom:record_id",
    }


def test_sales_navigator_and_plain_files() -> None:
    assert auto_map(["Full Name", "Profile URL", "Current Company", "Position", "Location"]) == {
        "Full Name": "full_name",
        "Profile URL": "linkedin_url",
        "Current Company": "company_name",
        "Position": "title",
        "Location": "custom:location",
    }
    assert auto_map(["first_name", "LAST NAME", "E-Mail"]) == {
        "first_name": "first_name",
        "LAST NAME": "last_name",
        "E-Mail": "email",
    }


def test_normalized_comparison() -> None:
    assert normalize_header(" E-Mail_Address ") == normalize_header("email address")
    assert normalize_header("Prénom") == normalize_header("prenom")


def test_custom_names_do_not_collide() -> None:
    mapping = auto_map(["Notes", "notes!", "Email"])
    assert mapping == {"Notes": "custom:notes", "notes!": "custom:notes_2", "Email": "email"}


@given(st.lists(st.text(max_size=15), max_size=12, unique=True))
def test_auto_map_keeps_every_column_and_never_maps_two_to_one_field(headers: list[str]) -> None:
    mapping = auto_map(headers)
    assert list(mapping) == headers
    targets = [t for t in mapping.values() if t is not None]
    assert len(targets) == len(headers)
    single = [t for t in targets if t not in MULTI_FIELDS]
    assert len(single) == len(set(single))
    assert all(t in LEAD_FIELDS or t.startswith("custom:") for t in targets)


def test_override_moves_the_displaced_column_to_custom() -> None:
    mapping = auto_map(["Title", "Role", "Email"])
    assert mapping["Title"] == "title"
    result = apply_overrides(mapping, {"Role": "title", "Email": None})
    assert result == {"Title": "custom:title", "Role": "title", "Email": None}


def test_columns_of_a_multi_column_field_are_added_not_displaced() -> None:
    mapping = auto_map(["Phone", "Notes", "Email"])
    assert mapping["Phone"] == "phone"
    result = apply_overrides(mapping, {"Notes": "phone"})
    assert result == {"Phone": "phone", "Notes": "phone", "Email": "email"}
    assert apply_overrides(mapping, {"Notes": "phone", "Phone": "phone"})["Notes"] == "phone"


def test_override_to_a_custom_name_taken_by_an_auto_column() -> None:
    result = apply_overrides(auto_map(["Lists", "Notes"]), {"Notes": "custom:lists"})
    assert result == {"Lists": "custom:lists_2", "Notes": "custom:lists"}


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"Nope": "email"}, "unknown_column"),
        ({"A": "favourite_colour"}, "unknown_field"),
        ({"A": "custom:Bad Name"}, "invalid_custom_field"),
        ({"A": "email", "B": "email"}, "duplicate_field"),
        ({"A": "custom:x", "B": "custom:x"}, "duplicate_field"),
    ],
)
def test_override_errors(overrides: dict[str, str | None], code: str) -> None:
    with pytest.raises(MappingError) as err:
        apply_overrides(auto_map(["A", "B"]), overrides)
    assert err.value.code == code
    assert isinstance(err.value, ValueError)
    assert isinstance(err.value, InvalidInput)
    assert err.value.status == 422


def test_has_identity() -> None:
    assert has_identity({"E": "email"})
    assert has_identity({"L": "linkedin_url"})
    assert has_identity({"N": "full_name", "C": "company_name"})
    assert not has_identity({"N": "first_name", "T": "title"})

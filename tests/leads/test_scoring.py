from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from leadflood.icps.criteria import DEFAULT_WEIGHTS, SCORED
from leadflood.leads.scoring import score

ICP = {
    "titles": ["VP Sales", "Head of Sales"],
    "seniorities": ["vp", "head"],
    "departments": ["sales"],
    "industries": ["Computer Software"],
    "employee_ranges": ["51-200"],
    "countries": ["DACH"],
    "keywords": ["cloud"],
    "technologies": ["Salesforce"],
    "exclude_domains": ["competitor.com"],
    "exclude_existing_customers": True,
    "customer_domains": ["happy-customer.io"],
}
# A lead matching every criterion of ICP.
FIT = {
    "title": "Vice President of Sales",
    "seniority": "VP",
    "department": "Sales",
    "country": "Germany",
    "company_name": "Wildleaf Cloud",
    "company_domain": "wildleaf.com",
    "company_industry": "Computer Software",
    "company_size": 120,
    "email": "freja@wildleaf.com",
    "verification_status": "valid",
}
COMPANY = {"domain": "wildleaf.com", "employee_count": 120, "technologies": ["Salesforce"]}
# For each criterion, a change to FIT that stops it matching.
MISS: dict[str, dict[str, Any]] = {
    "titles": {"title": "Software Engineer"},
    "seniorities": {"seniority": "entry"},
    "departments": {"department": "engineering"},
    "industries": {"company_industry": "Retail"},
    "employee_ranges": {"company_size": 5000},
    "countries": {"country": "US"},
    "keywords": {"company_name": "Wildleaf", "company_domain": "wildleaf.com"},
    "technologies": {},
}


def test_a_perfect_fit_scores_100_with_one_line_per_criterion() -> None:
    value, items = score(FIT, COMPANY, ICP)
    assert value == 100
    assert [i["criterion"] for i in items] == list(SCORED)
    assert all(i["matched"] for i in items)
    assert items[0] == {
        "criterion": "titles",
        "label": "title matches 'VP Sales'",
        "points": DEFAULT_WEIGHTS["titles"],
        "matched": True,
        "fit": 1.0,
    }
    assert "company size 51-200" in [i["label"] for i in items]


def test_unmatched_criteria_are_listed_with_zero_points() -> None:
    lead = {**FIT, "title": "Software Engineer"}
    value, items = score(lead, COMPANY, ICP)
    assert value == 100 - DEFAULT_WEIGHTS["titles"]
    title = items[0]
    assert title["matched"] is False and title["points"] == 0
    assert title["label"] == "title not in VP Sales, Head of Sales"


def test_risky_and_invalid_emails_cost_points() -> None:
    value, items = score({**FIT, "verification_status": "risky"}, COMPANY, ICP)
    assert value == 90
    assert items[-1] == {
        "criterion": "email_risky",
        "label": "email risky",
        "points": -10,
        "matched": True,
    }
    assert score({**FIT, "verification_status": "invalid"}, COMPANY, ICP)[0] == 60


def test_excluded_domains_and_existing_customers_floor_the_score() -> None:
    value, items = score({**FIT, "company_domain": "eu.competitor.com"}, {}, ICP)
    assert value == 0
    assert [i["criterion"] for i in items][-2:] == ["excluded", "floor"]
    assert sum(i["points"] for i in items) == 0
    customer = score({**FIT, "company_domain": "happy-customer.io"}, {}, ICP)[1]
    assert any(i["label"] == "happy-customer.io is an existing customer" for i in customer)
    no_flag = {**ICP, "exclude_existing_customers": False}
    assert score({**FIT, "company_domain": "happy-customer.io"}, COMPANY, no_flag)[0] == 100


def test_weights_are_relative_shares_of_100() -> None:
    value, items = score(FIT, COMPANY, ICP, {name: 50 for name in SCORED})
    assert value == 100
    assert [i["points"] for i in items] == [13, 13, 13, 13, 12, 12, 12, 12]
    icp = {"titles": ["VP Sales"], "employee_ranges": ["51-200"], "countries": ["US"]}
    # 30 / 20 / 10 of 60: a perfect fit for this ICP is still 100.
    assert [i["points"] for i in score(FIT, COMPANY, icp)[1]] == [50, 33, 0]
    assert score({**FIT, "country": "US"}, COMPANY, icp)[0] == 100


def test_an_icp_with_one_criterion_grades_the_title() -> None:
    value, items = score(FIT, {}, {"titles": ["Head of Sales"]})
    # "Vice President of Sales" has half the words of "Head of Sales": half the points.
    assert (value, len(items)) == (50, 1)
    assert items[0]["label"] == "title close to 'Head of Sales'" and items[0]["fit"] == 0.5
    assert score({**FIT, "title": "Software Engineer"}, {}, {"titles": ["Head of Sales"]})[0] == 0
    assert (
        score({**FIT, "title": "Head of Sales EMEA"}, {}, {"titles": ["Head of Sales"]})[0] == 100
    )
    assert score(FIT, {}, {"titles": ["VP Sales"]}, {"titles": 0})[0] == 0


def test_regions_and_country_names_match_iso_codes() -> None:
    icp = {"countries": ["Nordics", "US"]}
    assert score({"country": "SE"}, {}, icp)[0] == 100
    # The second value listed is preferred a little less than the first.
    assert score({"country": "United States"}, {}, icp)[0] == 90
    assert score({"country": "FR"}, {}, icp)[0] == 0
    # A neighbour in a wanted region earns half.
    assert score({"country": "Austria"}, {}, {"countries": ["Germany"]})[0] == 50


weights_st = st.fixed_dictionaries(
    {name: st.integers(0, 100) for name in SCORED}
    | {
        "email_risky": st.integers(-100, 0),
        "email_invalid": st.integers(-100, 0),
        "excluded": st.integers(-100, 0),
    }
)
present = st.lists(st.sampled_from(list(SCORED)), unique=True)


def _lead(misses: list[str], status: str, excluded: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    lead = dict(FIT, verification_status=status)
    company = dict(COMPANY)
    for name in misses:
        lead.update(MISS[name])
        if name == "employee_ranges":
            company["employee_count"] = 5000
        if name == "technologies":
            company["technologies"] = ["Zendesk"]
    if excluded:
        lead["company_domain"] = company["domain"] = "competitor.com"
    return lead, company


@settings(max_examples=300, deadline=None)
@given(
    weights=weights_st,
    criteria=present,
    misses=st.lists(st.sampled_from(list(SCORED)), unique=True),
    extra=st.sampled_from(list(SCORED)),
    status=st.sampled_from(["unverified", "valid", "risky", "invalid", "unknown"]),
    excluded=st.booleans(),
)
def test_score_is_bounded_monotonic_and_explained(
    weights: dict[str, int],
    criteria: list[str],
    misses: list[str],
    extra: str,
    status: str,
    excluded: bool,
) -> None:
    icp = {name: ICP[name] for name in criteria} | {"exclude_domains": ["competitor.com"]}
    lead, company = _lead(misses, status, excluded)
    value, items = score(lead, company, icp, weights)
    assert 0 <= value <= 100
    assert sum(i["points"] for i in items) == value
    assert {i["criterion"] for i in items if i["criterion"] in SCORED} == set(criteria)
    # Matching one more criterion never lowers the score.
    more_lead, more_company = _lead([m for m in misses if m != extra], status, excluded)
    assert score(more_lead, more_company, icp, weights)[0] >= value


GRADED_ICP = {
    "seniorities": ["vp", "director"],
    "employee_ranges": ["51-200", "201-500"],
    "industries": ["Computer Software"],
    "countries": ["Germany", "France"],
}


def test_leads_that_all_match_are_still_ranked_by_how_well() -> None:
    best = {"seniority": "vp", "company_size": 120, "company_industry": "Computer Software",
            "country": "DE"}  # fmt: skip
    second = {**best, "seniority": "director", "country": "FR"}
    near = {**best, "seniority": "head", "company_size": 40, "company_industry": "Software"}
    far = {**best, "seniority": "intern", "company_size": 20_000, "country": "JP",
           "company_industry": "Retail"}  # fmt: skip
    scores = [score(lead, {}, GRADED_ICP)[0] for lead in (best, second, near, far)]
    assert scores[0] == 100 and scores == sorted(scores, reverse=True)
    assert len(set(scores)) == 4 and scores[-1] == 0
    lines = {i["criterion"]: i for i in score(near, {}, GRADED_ICP)[1]}
    assert lines["employee_ranges"]["label"] == "company size close to '51-200'"
    assert lines["employee_ranges"]["fit"] == 0.5


graded_leads = st.fixed_dictionaries(
    {
        "seniority": st.sampled_from(["owner", "c_suite", "vp", "head", "director", "manager",
                                      "senior", "entry", "intern", "Chief"]),
        "company_size": st.integers(1, 50_000),
        "company_industry": st.sampled_from(["Computer Software", "Software", "Retail",
                                             "Computer Hardware", "Banking"]),
        "country": st.sampled_from(["DE", "AT", "FR", "US", "SE", "Japan", ""]),
        "title": st.sampled_from(["VP Sales", "Head of Sales", "Sales Manager", "Engineer"]),
        "verification_status": st.sampled_from(["valid", "risky", "invalid"]),
    }
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(a=graded_leads, b=graded_leads, weights=weights_st, titles=st.booleans())
def test_the_score_is_monotone_in_fit(a, b, weights, titles) -> None:
    icp = dict(GRADED_ICP, **({"titles": ["VP Sales", "Head of Sales"]} if titles else {}))
    b = dict(b, verification_status=a["verification_status"])  # the same penalties
    score_a, items_a = score(a, {}, icp, weights)
    score_b, items_b = score(b, {}, icp, weights)
    fit_a = {i["criterion"]: i["fit"] for i in items_a if "fit" in i}
    fit_b = {i["criterion"]: i["fit"] for i in items_b if "fit" in i}
    assert set(fit_a) == set(fit_b) and all(0 <= f <= 1 for f in fit_a.values())
    if all(fit_b[name] >= fit_a[name] for name in fit_a):
        assert score_b >= score_a

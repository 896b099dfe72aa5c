from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflood.sequences.templating import (
    COMPANY_FIELDS,
    LEAD_VARIABLES,
    NAMESPACES,
    SENDER_FIELDS,
    TemplateError,
    build_context,
    choose_variant,
    render,
    validate_template,
)

JINJA_WORDS = {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is"}
KNOWN = LEAD_VARIABLES | NAMESPACES.keys()

identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True).filter(
    lambda name: name not in JINJA_WORDS
)
optional_text = st.one_of(st.none(), st.text(max_size=30))


def lead_context(**lead: Any) -> dict[str, Any]:
    return build_context(lead, {"name": "Acme", "domain": "acme.test"}, {"name": "Sam"}, {})


@pytest.mark.parametrize(
    "lead", [{"first_name": None}, {"first_name": ""}, {}, {"first_name": " "}]
)
def test_default_replaces_missing_none_and_empty(lead: dict[str, Any]) -> None:
    assert render('Hi {{ first_name | default("there") }}!', lead_context(**lead)) == "Hi there!"
    assert render("Hi {{ first_name | d('you') }}!", lead_context(**lead)) == "Hi you!"


def test_default_keeps_a_real_value() -> None:
    context = lead_context(first_name="Ada")
    assert render('Hi {{ first_name | default("there") }}!', context) == "Hi Ada!"


def test_missing_values_of_known_variables_render_empty() -> None:
    source = "[{{ phone }}|{{ sender.signature }}|{{ company.industry }}|{{ custom.plan }}]"
    assert render(source, lead_context()) == "[|||]"
    assert render(source, {}) == "[|||]"


def test_build_context_derives_names_and_drops_unknown_fields() -> None:
    context = build_context(
        {"first_name": "Ada", "last_name": "Lovelace", "password_hash": "x", "phone": None},
        {"name": "Analytical Engines", "domain": "engines.test", "secret": "y"},
        {"name": "Sam", "email": "sam@ours.test", "signature": "-- Sam", "smtp_password": "z"},
        {"plan": "pro", "seats": 12},
    )
    assert "password_hash" not in context
    source = (
        "{{ full_name }}/{{ company_name }}/{{ company_domain }}/{{ company.name }}/"
        "{{ sender.email }}/{{ custom.plan }}/{{ custom.seats }}/{{ phone }}"
    )
    assert render(source, context) == (
        "Ada Lovelace/Analytical Engines/engines.test/Analytical Engines/sam@ours.test/pro/12/"
    )
    assert render("{{ company.secret }}{{ sender.smtp_password }}", context) == ""


def test_filters_accept_missing_values() -> None:
    context = lead_context(first_name=None, title="head of SALES ops")
    source = "{{ first_name|title }}|{{ title|title }}|{{ title|lower }}|{{ title|upper }}"
    assert render(source, context) == "|Head Of Sales Ops|head of sales ops|HEAD OF SALES OPS"
    assert render("{{ title|first_word }}|{{ first_name|first_word }}", context) == "head|"


def test_html_variant_escapes_values_and_text_does_not() -> None:
    context = lead_context(first_name="<b>Ada</b> & co")
    assert render("{{ first_name }}", context) == "<b>Ada</b> & co"
    assert render("{{ first_name }}", context, html=True) == "&lt;b&gt;Ada&lt;/b&gt; &amp; co"


@settings(max_examples=200)
@given(
    names=st.lists(st.sampled_from(sorted(LEAD_VARIABLES)), min_size=1, max_size=4),
    company=st.lists(st.sampled_from(sorted(COMPANY_FIELDS)), max_size=2),
    sender=st.lists(st.sampled_from(sorted(SENDER_FIELDS)), max_size=2),
    custom=st.lists(identifiers, max_size=2),
    defaulted=st.booleans(),
    values=st.dictionaries(st.sampled_from(sorted(LEAD_VARIABLES)), optional_text),
)
def test_known_variables_validate_and_render(
    names: list[str],
    company: list[str],
    sender: list[str],
    custom: list[str],
    defaulted: bool,
    values: dict[str, str | None],
) -> None:
    fallback = ' | default("x")' if defaulted else ""
    parts = [f"{{{{ {name}{fallback} }}}}" for name in names]
    parts += [f"{{{{ company.{field} }}}}" for field in company]
    parts += [f"{{{{ sender.{field} }}}}" for field in sender]
    parts += [f'{{{{ custom["{field}"] | upper }}}}' for field in custom]
    source = " ".join(parts)
    validate_template(source, custom_fields=custom)
    rendered = render(source, build_context(values, {}, {}, {}))
    assert "None" not in rendered or any("None" in (v or "") for v in values.values())


@given(name=identifiers.filter(lambda name: name not in KNOWN), defaulted=st.booleans())
def test_unknown_variables_are_rejected_even_with_a_default(name: str, defaulted: bool) -> None:
    source = f"Hello\n{{{{ {name}{' | default(1)' if defaulted else ''} }}}}"
    with pytest.raises(TemplateError) as caught:
        validate_template(source)
    assert caught.value.code == "unknown_variable"
    assert caught.value.details["variable"] == name
    assert caught.value.details["line"] == 2


@pytest.mark.parametrize(
    ("source", "suggestion"),
    [
        ("Hi {{ frist_name }}", "first_name"),
        ("{{ compnay.name }}", "company"),
        ("{{ company.nmae }}", "company.name"),
        ("{{ sender.signatur }}", "sender.signature"),
        ("{{ zzz }}", None),
    ],
)
def test_an_unknown_variable_says_what_was_probably_meant(
    source: str, suggestion: str | None
) -> None:
    with pytest.raises(TemplateError) as caught:
        validate_template(source)
    assert caught.value.details.get("suggestion") == suggestion
    if suggestion:
        assert caught.value.message.endswith(f"did you mean {suggestion!r}?")
    else:
        assert "see the list of variables" in caught.value.message


@given(
    namespace=st.sampled_from(["company", "sender"]),
    field=identifiers,
    subscript=st.booleans(),
)
def test_unknown_namespace_fields_are_rejected(namespace: str, field: str, subscript: bool) -> None:
    known = COMPANY_FIELDS if namespace == "company" else SENDER_FIELDS
    source = f'{{{{ {namespace}["{field}"] }}}}' if subscript else f"{{{{ {namespace}.{field} }}}}"
    if field in known:
        validate_template(source)
    elif field.startswith("_") and not subscript:
        with pytest.raises(TemplateError, match="not allowed"):
            validate_template(source)
    else:
        with pytest.raises(TemplateError) as caught:
            validate_template(source)
        assert caught.value.details["variable"] == f"{namespace}.{field}"


@given(field=identifiers.filter(lambda f: not f.startswith("_")), listed=st.booleans())
def test_custom_fields_must_be_listed(field: str, listed: bool) -> None:
    source = f'{{{{ custom.{field} | default("n/a") }}}}'
    if listed:
        validate_template(source, custom_fields=[field, "other"])
    else:
        with pytest.raises(TemplateError) as caught:
            validate_template(source, custom_fields=["other"])
        assert caught.value.code == "unknown_variable"


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("{{ company }}", "unknown_variable"),
        ("{% for k in custom %}{{ k }}{% endfor %}", "unknown_variable"),
        ("{{ custom[first_name] }}", "unknown_variable"),
        ("{{ first_name | shout }}", "template_syntax"),
        ("{% if first_name is shouting %}x{% endif %}", "unknown_test"),
        ("{% if first_name %}{{ first_name | shout }}{% endif %}", "unknown_filter"),
        ('{% include "other.txt" %}', "template_forbidden"),
        ('{% extends "base.txt" %}', "template_forbidden"),
        ("{{ first_name.__class__ }}", "template_security"),
    ],
)
def test_invalid_templates_are_rejected_with_a_code(source: str, code: str) -> None:
    with pytest.raises(TemplateError) as caught:
        validate_template(source)
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


def test_syntax_errors_carry_the_line() -> None:
    with pytest.raises(TemplateError) as caught:
        validate_template("Hi {{ first_name }},\n\nsee {% if %}")
    assert caught.value.code == "template_syntax"
    assert caught.value.details["line"] == 3
    assert caught.value.message.startswith("Line 3:")


def test_locally_defined_names_are_allowed() -> None:
    validate_template(
        "{% set greeting = 'Hi' %}{{ greeting }} {% for w in full_name.split() %}"
        "{{ loop.index }}{{ w }}{% endfor %}"
    )
    validate_template('{{ custom["deal size"] }}', custom_fields=["deal size"])


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__ | default('x') }}",
        "{{ first_name.__class__ }}",
        "{{ first_name | attr('__class__') }}",
        "{{ '{0.__class__}'.format(first_name) }}",
        "{{ company._values }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ range.__globals__ }}",
        "{{ 'a' * 100000000 }}",
        "{{ (9 ** 9) ** (9 ** 9) }}",
        "{% set l = [1] %}{{ l.append(2) }}",
    ],
)
def test_render_never_leaves_the_sandbox(source: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(source, lead_context(first_name="Ada"))
    assert caught.value.code == "template_security"


@settings(max_examples=300)
@given(
    source=st.text(
        alphabet=st.sampled_from(list("{}%#()[]|.'\"_ azfirst_nme09*+-/\n")), max_size=40
    )
)
def test_render_only_fails_with_template_errors(source: str) -> None:
    try:
        render(source, lead_context(first_name="Ada"))
    except TemplateError as exc:
        assert exc.code


def test_unvalidated_unknown_names_fail_at_render() -> None:
    with pytest.raises(TemplateError) as caught:
        render("{{ nickname }}", lead_context())
    assert caught.value.code == "unknown_variable"
    assert render("{{ nickname | default('pal') }}", lead_context()) == "pal"


@settings(max_examples=50, deadline=None)
@given(
    weights=st.lists(st.integers(0, 10), min_size=2, max_size=4).filter(lambda w: sum(w) > 0),
    salt=st.text(max_size=8),
)
def test_choose_variant_follows_weights(weights: list[int], salt: str) -> None:
    variants = [(f"v{i}", weight) for i, weight in enumerate(weights)]
    keys = [f"{salt}:enrollment-{i}" for i in range(4000)]
    counts = Counter(choose_variant(variants, key) for key in keys)
    total = sum(weights)
    for name, weight in variants:
        share = counts[name] / len(keys)
        assert abs(share - weight / total) < 0.05, (name, share, weight / total)
        if weight == 0:
            assert counts[name] == 0


@given(key=st.text(), weights=st.lists(st.integers(1, 5), min_size=1, max_size=5))
def test_choose_variant_is_stable_per_key(key: str, weights: list[int]) -> None:
    variants = [(f"v{i}", weight) for i, weight in enumerate(weights)]
    first = choose_variant(variants, key)
    assert first in {name for name, _ in variants}
    choose_variant(variants, key + "x")
    assert choose_variant(tuple(variants), key) == first


@pytest.mark.parametrize("variants", [[], [("a", 0)], [("a", 2), ("b", -1)]])
def test_choose_variant_rejects_bad_weights(variants: list[tuple[str, int]]) -> None:
    with pytest.raises(ValueError):
        choose_variant(variants, "k")

"""Sandboxed Jinja rendering of step subjects and bodies.

Templates are checked when saved (`validate_template`): syntax, and every variable must be a
known one. At send time `render` fills every known variable, so a lead without a phone or a
first name renders "" (or the `default(...)` fallback) instead of failing.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

LEAD_VARIABLES: frozenset[str] = frozenset(
    {
        "first_name",
        "last_name",
        "full_name",
        "email",
        "title",
        "seniority",
        "department",
        "phone",
        "linkedin_url",
        "city",
        "country",
        "company_name",
        "company_domain",
    }
)
COMPANY_FIELDS: frozenset[str] = frozenset(
    {"name", "domain", "website", "industry", "size", "city", "country", "description"}
)
SENDER_FIELDS: frozenset[str] = frozenset({"name", "email", "signature"})
NAMESPACES: dict[str, frozenset[str] | None] = {
    "company": COMPANY_FIELDS,
    "sender": SENDER_FIELDS,
    "custom": None,  # the workspace's custom fields, passed to validate_template
}

_MAX_SEQUENCE_RESULT = 100_000
_MAX_EXPONENT = 100
_FORBIDDEN_NODES = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


class TemplateError(ValueError):
    def __init__(self, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class _Fields:
    """A namespace such as `company`: a missing field reads as "" (templates reach it as
    `company.name`; dict methods such as `items` must not shadow field names)."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = {k: _blank_none(v) for k, v in values.items()}

    def __getitem__(self, key: str) -> Any:
        return self._values.get(key, "")

    def __repr__(self) -> str:
        return f"_Fields({sorted(self._values)})"


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _default(value: Any, fallback: Any = "") -> Any:
    if isinstance(value, Undefined):
        # str() raises SecurityError for a sandbox violation: never hide those behind a default
        with contextlib.suppress(UndefinedError):
            str(value)
        return fallback
    return fallback if _is_empty(value) else value


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, Undefined) else str(value)


def _first_word(value: Any) -> str:
    words = _text(value).split()
    return words[0] if words else ""


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
                raise SecurityError("exponent too large")
            return left**right
        for seq, count in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(count, int)
            if sized and len(seq) * count > _MAX_SEQUENCE_RESULT:
                raise SecurityError("result too large")
        return left * right


def _make_environment(*, autoescape: bool) -> _Environment:
    env = _Environment(
        undefined=StrictUndefined,
        autoescape=autoescape,
        finalize=_blank_none,
        keep_trailing_newline=True,
    )
    env.filters.update(
        default=_default,
        d=_default,
        title=lambda v: _text(v).title(),
        lower=lambda v: _text(v).lower(),
        upper=lambda v: _text(v).upper(),
        first_word=_first_word,
    )
    return env


TEXT_ENV = _make_environment(autoescape=False)
HTML_ENV = _make_environment(autoescape=True)


def _syntax_error(exc: TemplateSyntaxError) -> TemplateError:
    return TemplateError(
        "template_syntax",
        f"Line {exc.lineno}: {exc.message}",
        {"line": exc.lineno, "error": exc.message},
    )


def _references(ast: nodes.Template) -> Iterator[tuple[str, str | None, int]]:
    """(namespace, field, line) for `ns.field` / `ns["field"]`, field None for a bare `ns`."""
    attached: set[int] = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        field: str | None = None
        if isinstance(node, nodes.Getattr):
            target, field = node.node, node.attr
        elif isinstance(node, nodes.Getitem):
            target = node.node
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                field = node.arg.value
        if field is None or not isinstance(target, nodes.Name) or target.name not in NAMESPACES:
            continue
        attached.add(id(target))
        yield target.name, field, node.lineno
    for name in ast.find_all(nodes.Name):
        if name.name in NAMESPACES and name.ctx == "load" and id(name) not in attached:
            yield name.name, None, name.lineno


def _unknown(name: str, line: int, known: Iterable[str]) -> TemplateError:
    choices = sorted(known)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.7)
    hint = f": did you mean {close[0]!r}?" if close else " (see the list of variables)"
    return TemplateError(
        "unknown_variable",
        f"Line {line}: unknown variable {name!r}{hint}",
        {"variable": name, "line": line, "known": choices}
        | ({"suggestion": close[0]} if close else {}),
    )


def validate_template(
    source: str, *, custom_fields: Iterable[str] = (), html: bool = False
) -> None:
    env = HTML_ENV if html else TEXT_ENV
    try:
        ast = env.parse(source)
        env.compile(ast)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None
    for node in ast.find_all(_FORBIDDEN_NODES):
        raise TemplateError(
            "template_forbidden",
            f"Line {node.lineno}: include, import and extends are not available in messages",
            {"line": node.lineno},
        )
    for attr in ast.find_all(nodes.Getattr):
        if attr.attr.startswith("_"):
            raise TemplateError(
                "template_security",
                f"Line {attr.lineno}: attribute {attr.attr!r} is not allowed",
                {"line": attr.lineno, "attribute": attr.attr},
            )
    for flt in ast.find_all(nodes.Filter):
        if flt.name not in env.filters:
            raise TemplateError(
                "unknown_filter",
                f"Line {flt.lineno}: unknown filter {flt.name!r}",
                {"filter": flt.name, "line": flt.lineno},
            )
    for test in ast.find_all(nodes.Test):
        if test.name not in env.tests:
            raise TemplateError(
                "unknown_test",
                f"Line {test.lineno}: unknown test {test.name!r}",
                {"test": test.name, "line": test.lineno},
            )
    allowed = LEAD_VARIABLES | NAMESPACES.keys()
    for name in sorted(find_undeclared_variables(ast)):
        if name not in allowed:
            line = next((n.lineno for n in ast.find_all(nodes.Name) if n.name == name), 1)
            raise _unknown(name, line, allowed)
    custom = frozenset(custom_fields)
    for namespace, field, line in _references(ast):
        fields = NAMESPACES[namespace]
        known = custom if fields is None else fields
        if field is None:
            raise TemplateError(
                "unknown_variable",
                f"Line {line}: use a field of {namespace!r}, such as {namespace}.<field>",
                {"variable": namespace, "line": line, "known": sorted(known)},
            )
        if field not in known:
            raise _unknown(f"{namespace}.{field}", line, (f"{namespace}.{k}" for k in known))


def build_context(
    lead: Mapping[str, Any],
    company: Mapping[str, Any],
    sender: Mapping[str, Any],
    custom: Mapping[str, Any],
) -> dict[str, Any]:
    context: dict[str, Any] = {name: _blank_none(lead.get(name)) for name in LEAD_VARIABLES}
    if _is_empty(context["full_name"]):
        parts = (context["first_name"], context["last_name"])
        context["full_name"] = " ".join(str(p).strip() for p in parts if not _is_empty(p))
    if _is_empty(context["company_name"]):
        context["company_name"] = _blank_none(company.get("name"))
    if _is_empty(context["company_domain"]):
        context["company_domain"] = _blank_none(company.get("domain"))
    context["company"] = _Fields({k: v for k, v in company.items() if k in COMPANY_FIELDS})
    context["sender"] = _Fields({k: v for k, v in sender.items() if k in SENDER_FIELDS})
    context["custom"] = _Fields(custom)
    return context


def _complete(context: Mapping[str, Any]) -> dict[str, Any]:
    full: dict[str, Any] = {name: "" for name in LEAD_VARIABLES}
    full.update({name: _Fields({}) for name in NAMESPACES})
    full.update(context)
    return full


@functools.lru_cache(maxsize=1024)
def _compiled(source: str, html: bool) -> Template:
    # Compiling is ~50x the cost of rendering; a tick renders the same few templates many times.
    return (HTML_ENV if html else TEXT_ENV).from_string(source)


def render(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    try:
        return _compiled(source, html).render(_complete(context))
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None
    except SecurityError as exc:
        raise TemplateError("template_security", str(exc), {}) from None
    except UndefinedError as exc:
        raise TemplateError("unknown_variable", str(exc), {}) from None
    except JinjaTemplateError as exc:
        raise TemplateError("template_render", str(exc), {}) from None
    except Exception as exc:  # a user template may fail in any way; report, never crash a batch
        raise TemplateError("template_render", f"{type(exc).__name__}: {exc}", {}) from None


def _hash_unit(key: str, purpose: str) -> int:
    digest = hashlib.blake2b(f"{purpose}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def choose_variant(variants: Sequence[tuple[str, int]], key: str) -> str:
    """A weighted choice that is the same every time for `key`.

    Use a key per enrollment and step (e.g. f"{enrollment_id}:{step_id}") so that the A/B split
    of one step is independent of the next one's."""
    if any(weight < 0 for _, weight in variants):
        raise ValueError("variant weights cannot be negative")
    total = sum(weight for _, weight in variants)
    if total <= 0:
        raise ValueError("at least one variant needs a positive weight")
    point = _hash_unit(key, "variant") % total
    for name, weight in variants:
        if point < weight:
            return name
        point -= weight
    raise AssertionError("unreachable: point < total")

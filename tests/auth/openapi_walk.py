"""Walking the app's own OpenAPI document and routes, so every new route is covered by the
tenancy and role tests without anyone remembering to add it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.routing import APIRoute

from leadflood.models import Role
from leadflood.web.deps import RequireRole, current_user

MUTATING = {"post", "put", "patch", "delete"}


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def example(schema: dict[str, Any], node: dict[str, Any]) -> Any:
    """The smallest valid value of a JSON schema: required properties only."""
    node = _resolve(schema, node)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        return example(schema, options[0]) if options else None
    if "allOf" in node:
        return example(schema, node["allOf"][0])
    if "enum" in node:
        return node["enum"][0]
    if "default" in node and node["default"] is not None:
        return node["default"]
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties", {})
        return {k: example(schema, props[k]) for k in node.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, node.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    fmt = node.get("format")
    if fmt == "email":
        return "someone@example.com"
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date-time":
        return "2030-01-01T00:00:00Z"
    return "x" * max(1, node.get("minLength", 1)) if fmt != "uri" else "https://example.com"


def body_for(schema: dict[str, Any], operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return example(schema, content["application/json"]["schema"])


def _calls(dependant: Any) -> list[Any]:
    found = []
    for dep in dependant.dependencies:
        found.append(dep.call)
        found += _calls(dep)
    return found


def required_role(route: APIRoute) -> Role | None:
    roles = [c.role for c in _calls(route.dependant) if isinstance(c, RequireRole)]
    return max(roles, key=lambda r: r.rank) if roles else None


def requires_user(route: APIRoute) -> bool:
    return current_user in _calls(route.dependant)


def api_routes(app: Any) -> list[APIRoute]:
    """Every APIRoute: those on the app itself and those of the routers it includes (FastAPI
    keeps an included router as one `_IncludedRouter` entry in `app.routes`)."""
    from leadflood.web.app import api_routers, page_routers

    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    for router in api_routers() + page_routers():
        routes += [r for r in router.routes if isinstance(r, APIRoute)]
    assert routes, "no routes found: has FastAPI changed how it keeps them?"
    return routes

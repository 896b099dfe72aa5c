"""Step forms of the sequence builder: add a step, edit one (delay and its A/B variants),
move it, delete it. Template errors come back next to the field that has them."""

from __future__ import annotations

import string
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadflood.errors import AppError
from leadflood.sequences import service as sequences
from leadflood.sequences import steps
from leadflood.sequences.errors import InvalidTemplate, StepNotFound
from leadflood.sequences.schemas import StepCreate, StepUpdate
from leadflood.sequences.views import builder_page, cheat_sheet, field_errors
from leadflood.web import forms
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)
UNITS = (("business_days", "business days"), ("days", "days"), ("hours", "hours"))


def _variant_field(loc: forms.Loc) -> str:
    """`variants.1.subject` is the input `v1_subject` of the step form."""
    parts = [str(part) for part in loc]
    if parts[:1] == ["variants"] and len(parts) > 2:
        return f"v{parts[1]}_{parts[2]}"
    return parts[0] if parts else forms.FORM


def _template_error(exc: AppError, labels: list[str], prefix: str) -> dict[str, str]:
    details = exc.details if isinstance(exc.details, dict) else {}
    field = str(details.get("field") or "body")
    label = str(details.get("variant") or "")
    index = labels.index(label) if label in labels else 0
    # The message is shown next to its field: "body of variant B: " would only repeat it.
    message = exc.message.removeprefix(f"{field} of variant {label}: ")
    if "line" in details and not message.startswith("Line "):
        message += f" (line {details['line']})"
    if field in ("weight", "label"):
        return {f"{prefix}{index}_weight": message}
    return {f"{prefix}{index}_{field}": message}


def _variants_from(raw: Any) -> list[dict[str, Any]]:
    variants: list[dict[str, Any]] = []
    for i in range(26):
        if f"v{i}_body" not in raw and f"v{i}_subject" not in raw:
            break
        subject = str(raw.get(f"v{i}_subject") or "")
        body = str(raw.get(f"v{i}_body") or "")
        if raw.get(f"v{i}_remove") == "on" or (i > 0 and not subject.strip() and not body.strip()):
            continue
        variants.append(
            {"subject": subject, "body": body, "weight": str(raw.get(f"v{i}_weight") or "1")}
        )
    for index, variant in enumerate(variants):
        variant["label"] = string.ascii_uppercase[index]
    return variants


@router.post("/sequences/{sequence_id}/steps", response_class=HTMLResponse)
async def add_step(
    sequence_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: MemberDep,
    runtime: RuntimeDep,
) -> Response:
    raw = await request.form()
    form = {
        k: str(raw.get(k) or "") for k in ("delay_amount", "delay_unit", "v0_subject", "v0_body")
    }
    try:
        data = StepCreate.model_validate(
            {
                "delay_amount": form["delay_amount"] or "0",
                "delay_unit": form["delay_unit"] or "business_days",
                "variants": [{"subject": form["v0_subject"], "body": form["v0_body"]}],
            }
        )
        async with forms.savepoint(session):
            await steps.add(session, member.workspace_id, sequence_id, data, by=member)
    except ValidationError as exc:
        errors = field_errors(exc, prefix="add_")
        if "add_variants" in errors:
            errors["add_v0_body"] = errors.pop("add_variants")
        return await builder_page(
            request, session, runtime, member.workspace_id, sequence_id,
            errors=errors, add_form=form, status=422,
        )  # fmt: skip
    except InvalidTemplate as exc:
        return await builder_page(
            request, session, runtime, member.workspace_id, sequence_id,
            errors=_template_error(exc, ["A"], "add_v"), add_form=form, status=422,
        )  # fmt: skip
    return RedirectResponse(f"/sequences/{sequence_id}?step_added=1#steps", status_code=303)


def _edit_page(
    request: Request,
    sequence: Any,
    step: Any,
    form: dict[str, Any],
    errors: dict[str, str],
    variables: list[tuple[str, str]],
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "sequences/step.html",
        {
            "active": "sequences",
            "sequence": sequence,
            "step": step,
            "form": form,
            "errors": errors,
            "units": UNITS,
            "variables": variables,
        },
        status=status,
    )


def _form_of(step: Any) -> dict[str, Any]:
    return {
        "delay_amount": step.delay_amount,
        "delay_unit": step.delay_unit,
        "variants": [
            {"label": v.label, "subject": v.subject, "body": v.body, "weight": v.weight}
            for v in step.variants
        ],
    }


async def _find(
    session: Any, workspace_id: uuid.UUID, sequence_id: uuid.UUID, step_id: uuid.UUID
) -> tuple[Any, Any]:
    sequence = await sequences.get(session, workspace_id, sequence_id)
    step = next((s for s in sequence.steps if s.id == step_id), None)
    if step is None:
        raise StepNotFound()
    return sequence, step


@router.get("/sequences/{sequence_id}/steps/{step_id}", response_class=HTMLResponse)
async def edit_step(
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: MemberDep,
) -> Response:
    sequence, step = await _find(session, member.workspace_id, sequence_id, step_id)
    custom = await sequences.known_custom_fields(session, member.workspace_id)
    return _edit_page(request, sequence, step, _form_of(step), {}, cheat_sheet(custom))


@router.post("/sequences/{sequence_id}/steps/{step_id}", response_class=HTMLResponse)
async def save_step(
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: MemberDep,
) -> Response:
    sequence, step = await _find(session, member.workspace_id, sequence_id, step_id)
    raw = await request.form()
    variants = _variants_from(raw)
    form = {
        "delay_amount": str(raw.get("delay_amount") or "0"),
        "delay_unit": str(raw.get("delay_unit") or "business_days"),
        "variants": variants or [{"label": "A", "subject": "", "body": "", "weight": 1}],
    }
    custom = await sequences.known_custom_fields(session, member.workspace_id)
    try:
        data = StepUpdate.model_validate(
            {
                "delay_amount": form["delay_amount"],
                "delay_unit": form["delay_unit"],
                "variants": variants,
            }
        )
        async with forms.savepoint(session):
            await steps.edit(session, member.workspace_id, sequence_id, step_id, data, by=member)
    except ValidationError as exc:
        errors = forms.field_errors(exc, key=_variant_field)
        return _edit_page(request, sequence, step, form, errors, cheat_sheet(custom), 422)
    except AppError as exc:
        labels = [v["label"] for v in variants]
        errors = _template_error(exc, labels, "v")
        sequence, step = await _find(session, member.workspace_id, sequence_id, step_id)
        return _edit_page(request, sequence, step, form, errors, cheat_sheet(custom), 422)
    return RedirectResponse(f"/sequences/{sequence_id}?step_saved=1#steps", status_code=303)


@router.post("/sequences/{sequence_id}/steps/{step_id}/move")
async def move_step(
    sequence_id: uuid.UUID,
    step_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: MemberDep,
) -> Response:
    raw = await request.form()
    position = (
        int(str(raw.get("position") or "1")) if str(raw.get("position") or "").isdigit() else 1
    )
    await steps.move(
        session, member.workspace_id, sequence_id, step_id, max(1, position), by=member
    )
    return RedirectResponse(f"/sequences/{sequence_id}#step-{step_id}", status_code=303)


@router.post("/sequences/{sequence_id}/steps/{step_id}/delete")
async def delete_step(
    sequence_id: uuid.UUID, step_id: uuid.UUID, session: SessionDep, member: MemberDep
) -> Response:
    await steps.remove(session, member.workspace_id, sequence_id, step_id, by=member)
    return RedirectResponse(f"/sequences/{sequence_id}?step_deleted=1#steps", status_code=303)

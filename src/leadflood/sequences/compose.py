"""Rendering a step for a lead: the variant (stable per sequence, lead and step), the template
context, the subject and bodies, and threading on the previous message of the enrollment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from leadflood.models import Company, Lead, Mailbox, Sequence, SequenceStep, StepVariant
from leadflood.sequences.templating import build_context, choose_variant, render


@dataclass(frozen=True)
class Previous:
    """The enrollment's latest outbound message (the anchor for the next step's delay)."""

    send_after: Any
    message_id: str
    subject: str


@dataclass(frozen=True)
class Rendered:
    variant: StepVariant
    subject: str
    text: str
    html: str
    in_reply_to: str | None


def variant_key(sequence_id: uuid.UUID, lead_id: uuid.UUID, step_id: uuid.UUID) -> str:
    # Known before enrollment, so the preview shows the variant the lead will really get.
    return f"{sequence_id}:{lead_id}:{step_id}"


def pick_variant(step: SequenceStep, sequence: Sequence, lead_id: uuid.UUID) -> StepVariant:
    variants = [v for v in step.variants if v.weight > 0] or list(step.variants)
    if len(variants) == 1:
        return variants[0]
    if sum(v.weight for v in variants) <= 0:
        return variants[0]
    label = choose_variant(
        [(v.label, v.weight) for v in variants], variant_key(sequence.id, lead_id, step.id)
    )
    return next(v for v in variants if v.label == label)


def lead_values(lead: Lead) -> dict[str, Any]:
    return {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "title": lead.title,
        "seniority": lead.seniority,
        "department": lead.department,
        "phone": lead.phone,
        "linkedin_url": lead.linkedin_url,
        "city": lead.city,
        "country": lead.country,
        "company_name": lead.company_name,
        "company_domain": lead.company_domain,
    }


def company_values(lead: Lead, company: Company | None) -> dict[str, Any]:
    if company is None:
        return {
            "name": lead.company_name,
            "domain": lead.company_domain,
            "industry": lead.company_industry,
            "size": lead.company_size,
        }
    return {
        "name": company.name or lead.company_name,
        "domain": company.domain,
        "website": company.website,
        "industry": company.industry or lead.company_industry,
        "size": company.employee_count or lead.company_size,
        "city": company.city,
        "country": company.country,
    }


def sender_values(mailbox: Mailbox | None) -> dict[str, Any]:
    if mailbox is None:
        return {}
    return {
        "name": mailbox.from_name or "",
        "email": mailbox.from_email,
        "signature": mailbox.signature,
    }


def _html_body(rendered_html: str) -> str:
    paragraphs = [p.replace("\n", "<br>\n") for p in rendered_html.strip().split("\n\n")]
    return "".join(f"<p>{p}</p>\n" for p in paragraphs if p)


def render_step(
    *,
    sequence: Sequence,
    step: SequenceStep,
    lead: Lead,
    company: Company | None,
    mailbox: Mailbox | None,
    previous: Previous | None,
) -> Rendered:
    """Raises templating.TemplateError when a template cannot render."""
    variant = pick_variant(step, sequence, lead.id)
    context = build_context(
        lead_values(lead), company_values(lead, company), sender_values(mailbox), lead.custom_fields
    )
    subject = " ".join(render(variant.subject, context).split())
    text = render(variant.body, context).strip() + "\n"
    body_html = _html_body(render(variant.body, context, html=True))
    in_reply_to = None
    if not subject and previous is not None:
        # An empty subject continues the thread: a reply to the previous message.
        in_reply_to = previous.message_id
        base = previous.subject
        subject = base if base.lower().startswith("re:") else f"Re: {base}"
    return Rendered(variant, subject, text, body_html, in_reply_to)

from __future__ import annotations

from leadflood.errors import Conflict, InvalidInput, NotFound
from leadflood.sequences.templating import TemplateError


class SequenceNotFound(NotFound):
    code = "sequence_not_found"
    message = "No sequence with this id in this workspace."


class StepNotFound(NotFound):
    code = "step_not_found"
    message = "No step with this id in this sequence."


class EnrollmentNotFound(NotFound):
    code = "enrollment_not_found"
    message = "No enrollment with this id in this workspace."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message = "A sequence cannot go from this state to that one."


class SequenceNotReady(Conflict):
    code = "sequence_not_ready"
    message = "The sequence cannot start yet."


class SequenceArchived(Conflict):
    code = "sequence_archived"
    message = "An archived sequence cannot be changed."


class UnknownMailbox(InvalidInput):
    code = "unknown_mailbox"
    message = "A mailbox does not exist in this workspace."


class UnknownSource(NotFound):
    code = "search_run_not_found"
    message = "No search run with this id in this workspace."


class InvalidEnrollSource(InvalidInput):
    code = "invalid_enroll_source"
    message = "Give exactly one of lead_ids, filter or search_run_id."


class InvalidTemplate(InvalidInput):
    """A step's subject or body does not validate; `code` is the TemplateError's code."""

    def __init__(self, error: TemplateError, *, field: str, variant: str) -> None:
        super().__init__(
            f"{field} of variant {variant}: {error.message}",
            details={**error.details, "field": field, "variant": variant},
        )
        self.code = error.code

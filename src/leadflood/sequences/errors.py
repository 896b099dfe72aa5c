from __future__ import annotations

from collections.abc import Iterable

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


_DONE = {"activate": "activated", "pause": "paused", "resume": "resumed", "archive": "archived",
         "stop": "stopped"}  # fmt: skip


def cannot(noun: str, state: str, action: str, allowed: Iterable[str] = ()) -> str:
    """ "An active sequence cannot be activated (only a draft or paused one can)." """
    article = "An" if state[:1] in ("a", "e", "i", "o", "u") else "A"
    message = f"{article} {state} {noun} cannot be {_DONE.get(action, action + 'd')}"
    states = sorted(allowed)
    if not states:
        return message + "."
    which = " or ".join(states) if len(states) < 3 else ", ".join(states[:-1]) + " or " + states[-1]
    return f"{message} (only {'an' if which[:1] in 'aeiou' else 'a'} {which} one can)."

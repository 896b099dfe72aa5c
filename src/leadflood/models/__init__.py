"""Every ORM table, imported here so that Alembic and the app see one complete metadata."""

from leadflood.models.api_key import ApiKey
from leadflood.models.audit import AuditEvent
from leadflood.models.auth_session import AuthSession, RefreshToken
from leadflood.models.base import Base
from leadflood.models.company import Company
from leadflood.models.credential import ProviderCredential
from leadflood.models.enrollment import Enrollment, EnrollmentState
from leadflood.models.job_execution import JobExecution, JobState
from leadflood.models.lead import Lead, LeadStatus, VerificationStatus
from leadflood.models.mailbox import Mailbox, MailboxState
from leadflood.models.membership import Invitation, Membership, Role
from leadflood.models.message import DeliveryAttempt, Message, MessageStatus
from leadflood.models.rate_limit import RateLimitCounter
from leadflood.models.sequence import (
    Sequence,
    SequenceState,
    SequenceStep,
    StepVariant,
    sequence_mailboxes,
)
from leadflood.models.suppression import Suppression, SuppressionKind, UnsubscribeToken
from leadflood.models.system import Heartbeat
from leadflood.models.user import User
from leadflood.models.workspace import Workspace

__all__ = [
    "ApiKey",
    "AuditEvent",
    "AuthSession",
    "Base",
    "Company",
    "DeliveryAttempt",
    "Enrollment",
    "EnrollmentState",
    "Heartbeat",
    "Invitation",
    "JobExecution",
    "JobState",
    "Lead",
    "LeadStatus",
    "Mailbox",
    "MailboxState",
    "Membership",
    "Message",
    "MessageStatus",
    "ProviderCredential",
    "RateLimitCounter",
    "RefreshToken",
    "Role",
    "Sequence",
    "SequenceState",
    "SequenceStep",
    "StepVariant",
    "Suppression",
    "SuppressionKind",
    "UnsubscribeToken",
    "User",
    "VerificationStatus",
    "Workspace",
    "sequence_mailboxes",
]

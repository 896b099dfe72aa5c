"""Every ORM table, imported here so that Alembic and the app see one complete metadata."""

from leadflood.models.api_key import ApiKey
from leadflood.models.audit import AuditEvent
from leadflood.models.auth_session import AuthSession, RefreshToken
from leadflood.models.base import Base
from leadflood.models.company import Company
from leadflood.models.credential import CredentialKind, ProviderCredential
from leadflood.models.enrichment import (
    BulkAction,
    BulkOperation,
    BulkState,
    EnrichmentCache,
    EnrichmentRun,
    Verification,
)
from leadflood.models.enrollment import Enrollment, EnrollmentState
from leadflood.models.icp import Icp
from leadflood.models.idempotency import IDEMPOTENCY_KEPT, IdempotencyKey, IdempotencyState
from leadflood.models.inbound import InboundEndpoint, InboundItem, MailboxFolder
from leadflood.models.job_execution import JobExecution, JobState
from leadflood.models.lead import Lead, LeadStatus, VerificationStatus
from leadflood.models.lead_import import (
    ImportState,
    LeadImport,
    LeadImportRejection,
    LeadImportWarning,
    OnDuplicate,
)
from leadflood.models.lead_list import LeadList, LeadListMember, LeadNote
from leadflood.models.mailbox import Mailbox, MailboxState
from leadflood.models.membership import Invitation, Membership, Role
from leadflood.models.message import DeliveryAttempt, Message, MessageStatus
from leadflood.models.rate_limit import RateLimitCounter
from leadflood.models.search import SearchOutcome, SearchResult, SearchRun, SearchRunState
from leadflood.models.sequence import (
    Sequence,
    SequenceState,
    SequenceStep,
    StepVariant,
    sequence_mailboxes,
)
from leadflood.models.suppression import Suppression, SuppressionKind, UnsubscribeToken
from leadflood.models.system import Breaker, Heartbeat
from leadflood.models.thread import Thread, ThreadState
from leadflood.models.user import AccountToken, User
from leadflood.models.webhook import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from leadflood.models.workspace import Workspace
from leadflood.models.workspace_settings import EnrichmentSettings, LeadCounts

__all__ = [
    "IDEMPOTENCY_KEPT",
    "AccountToken",
    "ApiKey",
    "AuditEvent",
    "AuthSession",
    "Base",
    "Breaker",
    "BulkAction",
    "BulkOperation",
    "BulkState",
    "Company",
    "CredentialKind",
    "DeliveryAttempt",
    "DeliveryState",
    "EnrichmentCache",
    "EnrichmentRun",
    "EnrichmentSettings",
    "Enrollment",
    "EnrollmentState",
    "Heartbeat",
    "Icp",
    "IdempotencyKey",
    "IdempotencyState",
    "ImportState",
    "InboundEndpoint",
    "InboundItem",
    "Invitation",
    "JobExecution",
    "JobState",
    "Lead",
    "LeadCounts",
    "LeadImport",
    "LeadImportRejection",
    "LeadImportWarning",
    "LeadList",
    "LeadListMember",
    "LeadNote",
    "LeadStatus",
    "Mailbox",
    "MailboxFolder",
    "MailboxState",
    "Membership",
    "Message",
    "MessageStatus",
    "OnDuplicate",
    "ProviderCredential",
    "RateLimitCounter",
    "RefreshToken",
    "Role",
    "SearchOutcome",
    "SearchResult",
    "SearchRun",
    "SearchRunState",
    "Sequence",
    "SequenceState",
    "SequenceStep",
    "StepVariant",
    "Suppression",
    "SuppressionKind",
    "Thread",
    "ThreadState",
    "UnsubscribeToken",
    "User",
    "Verification",
    "VerificationStatus",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "Workspace",
    "sequence_mailboxes",
]

"""Every ORM table, imported here so that Alembic and the app see one complete metadata."""

from leadflood.models.base import Base
from leadflood.models.job_execution import JobExecution, JobState
from leadflood.models.lead import Lead, LeadStatus
from leadflood.models.system import Heartbeat
from leadflood.models.workspace import Workspace

__all__ = [
    "Base",
    "Heartbeat",
    "JobExecution",
    "JobState",
    "Lead",
    "LeadStatus",
    "Workspace",
]

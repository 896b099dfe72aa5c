from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadflood.models.base import Base, IdMixin, TimestampMixin, WorkspaceScoped


class ImportState(enum.StrEnum):
    uploaded = "uploaded"  # file stored, automatic mapping not yet reviewed
    mapping = "mapping"  # the user has changed the mapping
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"


class OnDuplicate(enum.StrEnum):
    skip = "skip"
    update = "update"


class LeadImport(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One CSV file imported into a workspace.

    `rows_read` is also the resume cursor: the counts and the leads of each chunk are committed
    in one transaction, so after a crash the first `rows_read` records are already accounted for
    and the import goes on from the next one.
    """

    __tablename__ = "lead_imports"
    __table_args__ = (
        Index("ix_lead_imports_workspace_created", "workspace_id", "created_at", "id"),
    )

    file_name: Mapped[str] = mapped_column(String(255))
    # Relative to the data directory for uploads (imports/<workspace>/<id>.csv); absolute for a
    # file the CLI imports in place.
    stored_path: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    on_duplicate: Mapped[OnDuplicate] = mapped_column(
        Enum(OnDuplicate, name="import_on_duplicate", native_enum=False, length=10),
        default=OnDuplicate.skip,
    )
    state: Mapped[ImportState] = mapped_column(
        Enum(ImportState, name="import_state", native_enum=False, length=20),
        default=ImportState.uploaded,
    )
    rows_estimate: Mapped[int | None]
    rows_read: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    updated: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    skipped: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    rejected: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Rows that became leads without some of their values (counted among created, updated or
    # skipped, not beside them): rows_read = created + updated + skipped + rejected.
    warned: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The list the imported leads (created and updated) join.
    list_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("lead_lists.id", ondelete="SET NULL")
    )
    # The ICP the imported leads are scored against (None: each lead's best fit).
    icp_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("icps.id", ondelete="SET NULL"))


class LeadImportRejection(Base):
    """A row that did not become a lead, with its reasons and the values as read."""

    __tablename__ = "lead_import_rejections"

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lead_imports.id", ondelete="CASCADE"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(primary_key=True)
    line: Mapped[int]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LeadImportWarning(Base):
    """A row that became a lead (or met one) without some of its values: which, and why, with
    the values as read."""

    __tablename__ = "lead_import_warnings"

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lead_imports.id", ondelete="CASCADE"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(primary_key=True)
    line: Mapped[int]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leadflood.models import ImportState, OnDuplicate


class ImportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    file_name: str
    size_bytes: int
    state: ImportState
    on_duplicate: OnDuplicate
    mapping: dict[str, str | None]
    rows_estimate: int | None
    rows_read: int
    created: int
    updated: int
    skipped: int
    rejected: int
    warned: int = Field(
        description="Rows that became leads (or met one) without some of their values: counted "
        "among created, updated and skipped, never beside them. Their reasons download like the "
        "rejected rows."
    )
    error: str | None
    list_id: uuid.UUID | None = Field(
        None, description="The list the imported leads (created and updated) join."
    )
    icp_id: uuid.UUID | None = Field(
        None,
        description="The ICP the imported leads are scored against (null: each one's best fit).",
    )
    job_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: float = Field(description="0 to 1: rows read over the rows the file holds.")


class SampleRow(BaseModel):
    row_number: int
    line: int
    values: dict[str, str]
    ok: bool
    lead: dict[str, Any] | None = None
    reasons: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Why the row would be rejected (when not ok), or which of its values the "
        "lead would be created without (when ok).",
    )


class ImportPreview(BaseModel):
    headers: list[str]
    encoding: str
    delimiter: str
    automatic: dict[str, str | None] = Field(description="The mapping guessed from the headers.")
    mapping: dict[str, str | None] = Field(description="The mapping the import will use.")
    has_identity: bool
    default_country: str | None = Field(
        description="The workspace's default country: phone numbers without a country code, "
        "on rows with no usable country, are read as its numbers."
    )
    fields: list[str] = Field(description="Lead fields a column may be mapped to.")
    sample: list[SampleRow]


class ImportWithPreview(ImportRead):
    preview: ImportPreview


class MappingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overrides: dict[str, str | None] = Field(
        default_factory=dict,
        description='Column → lead field, "custom:<name>", or null to ignore the column. '
        "Applied over the automatic mapping; columns not named keep their automatic field.",
    )
    on_duplicate: OnDuplicate | None = None
    list_id: uuid.UUID | None = Field(
        None, description="A list of this workspace the imported leads (created and updated) join."
    )
    icp_id: uuid.UUID | None = Field(
        None, description="An ICP of this workspace to score the imported leads against."
    )


class ImportStarted(BaseModel):
    import_id: uuid.UUID
    job_id: int

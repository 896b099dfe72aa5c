"""CSV imports: upload, preview, mapping, start, and the rejected rows as a CSV file.

The import itself runs in `import_pipeline.run` (job "leads.import", or in-process from the CLI).
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import BinaryIO, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood import jobs
from leadflood.db.engine import Database, when_transaction_ends
from leadflood.db.scope import get_scoped, scoped
from leadflood.errors import AppError, Conflict, InvalidInput, NotFound
from leadflood.icps import service as icps
from leadflood.imports.csv_reader import CsvFileError, open_csv
from leadflood.imports.mapping import LEAD_FIELDS, apply_overrides, auto_map, has_identity
from leadflood.imports.pipeline import resolve_path
from leadflood.imports.schemas import (
    ImportPreview,
    ImportRead,
    MappingUpdate,
    SampleRow,
)
from leadflood.leads import lists
from leadflood.models import (
    ImportState,
    LeadImport,
    LeadImportRejection,
    LeadImportWarning,
    OnDuplicate,
    Workspace,
)
from leadflood.pagination import Window, newest_first, page_of
from leadflood.settings import Settings

IMPORT_TASK = "leads.import"
EDITABLE = (ImportState.uploaded, ImportState.mapping)
_BLOCK = 1024 * 1024


class ImportNotFound(NotFound):
    code = "import_not_found"
    message = "No import with this id in this workspace."


class ImportTooLarge(AppError):
    status = 413
    code = "file_too_large"
    message = "The file is larger than the import limit."


class ImportAlreadyStarted(Conflict):
    code = "import_already_started"
    message = "This import has already started; its mapping can no longer change."


class MappingWithoutIdentity(InvalidInput):
    code = "mapping_without_identity"
    message = (
        "Map a column to email, linkedin_url or provider_person_id (or a name and a company): "
        "otherwise no row can become a lead."
    )


def upload_path(workspace_id: uuid.UUID, import_id: uuid.UUID) -> str:
    return f"imports/{workspace_id}/{import_id}.csv"


def progress(imp: LeadImport) -> float:
    if imp.state == ImportState.completed:
        return 1.0
    if not imp.rows_estimate:
        return 0.0
    return round(min(imp.rows_read / imp.rows_estimate, 0.99), 4)


def to_read(imp: LeadImport) -> ImportRead:
    return ImportRead.model_validate(
        {**{c: getattr(imp, c) for c in ImportRead.model_fields if c != "progress"}}
        | {"progress": progress(imp)}
    )


def _store(source: BinaryIO, dest: Path, limit: int) -> tuple[int, int]:
    """Copies the upload to `dest` a block at a time; (size, newlines)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    size = newlines = 0
    last = b"\n"
    try:
        with dest.open("wb") as out:
            while block := source.read(_BLOCK):
                size += len(block)
                if size > limit:
                    raise ImportTooLarge(
                        f"The file is larger than {limit} bytes.", details={"limit": limit}
                    )
                newlines += block.count(b"\n")
                last = block[-1:]
                out.write(block)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return size, newlines + (last != b"\n")


def _count(path: Path) -> tuple[int, int]:
    with path.open("rb") as source:
        size = newlines = 0
        last = b"\n"
        while block := source.read(_BLOCK):
            size += len(block)
            newlines += block.count(b"\n")
            last = block[-1:]
    return size, newlines + (last != b"\n")


def _safe_name(name: str | None) -> str:
    base = Path(name or "import.csv").name.strip() or "import.csv"
    return base[:255]


async def _check_targets(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    list_id: uuid.UUID | None,
    icp_id: uuid.UUID | None,
) -> None:
    """The list the leads join and the ICP they are scored against are this workspace's."""
    if list_id is not None:
        await lists.get(session, workspace_id, list_id)
    if icp_id is not None:
        await icps.get(session, workspace_id, icp_id)


async def create_upload(
    session: AsyncSession,
    settings: Settings,
    workspace_id: uuid.UUID,
    *,
    source: BinaryIO,
    file_name: str | None,
    on_duplicate: OnDuplicate = OnDuplicate.skip,
    created_by: uuid.UUID | None = None,
    list_id: uuid.UUID | None = None,
    icp_id: uuid.UUID | None = None,
) -> LeadImport:
    """Stores the uploaded file under the data directory and maps its columns automatically."""
    await _check_targets(session, workspace_id, list_id, icp_id)
    import_id = uuid.uuid4()
    relative = upload_path(workspace_id, import_id)
    dest = settings.data_dir / relative
    size, lines = await asyncio.to_thread(_store, source, dest, settings.import_max_bytes)
    try:
        headers = (await asyncio.to_thread(open_csv, dest)).headers
    except BaseException:
        await asyncio.to_thread(dest.unlink, missing_ok=True)
        raise
    # The request may still fail after this (its preview, its commit): the file must not
    # outlive a row that was never stored.
    when_transaction_ends(session, rolled_back=partial(dest.unlink, missing_ok=True))
    imp = LeadImport(
        id=import_id,
        workspace_id=workspace_id,
        file_name=_safe_name(file_name),
        stored_path=relative,
        size_bytes=size,
        mapping=auto_map(headers),
        on_duplicate=on_duplicate,
        state=ImportState.uploaded,
        rows_estimate=max(lines - 1, 0),
        created_by=created_by,
        list_id=list_id,
        icp_id=icp_id,
    )
    session.add(imp)
    await session.flush()
    return imp


async def create_from_path(
    session: AsyncSession,
    settings: Settings,
    workspace_id: uuid.UUID,
    path: Path,
    *,
    on_duplicate: OnDuplicate = OnDuplicate.skip,
    overrides: Mapping[str, str | None] | None = None,
    created_by: uuid.UUID | None = None,
    list_id: uuid.UUID | None = None,
    icp_id: uuid.UUID | None = None,
) -> LeadImport:
    """An import of a file read where it is (the CLI): nothing is copied, and no size limit
    applies (IMPORT_MAX_BYTES protects the uploads' disk space)."""
    await _check_targets(session, workspace_id, list_id, icp_id)
    path = await asyncio.to_thread(lambda: path.expanduser().resolve())
    try:
        size, lines = await asyncio.to_thread(_count, path)
    except (FileNotFoundError, IsADirectoryError):
        raise CsvFileError(f"No file at {path}.", details={"path": str(path)}) from None
    headers = (await asyncio.to_thread(open_csv, path)).headers
    mapping = apply_overrides(auto_map(headers), overrides or {})
    if not has_identity(mapping):
        raise MappingWithoutIdentity(details={"mapping": mapping})
    imp = LeadImport(
        workspace_id=workspace_id,
        file_name=_safe_name(path.name),
        stored_path=str(path),
        size_bytes=size,
        mapping=mapping,
        on_duplicate=on_duplicate,
        state=ImportState.mapping if overrides else ImportState.uploaded,
        rows_estimate=max(lines - 1, 0),
        created_by=created_by,
        list_id=list_id,
        icp_id=icp_id,
    )
    session.add(imp)
    await session.flush()
    return imp


async def get(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    import_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> LeadImport:
    return await get_scoped(
        session, LeadImport, workspace_id, import_id, error=ImportNotFound, for_update=for_update
    )


async def list_page(
    session: AsyncSession, workspace_id: uuid.UUID, *, limit: int, cursor: str | None = None
) -> Window[LeadImport]:
    query = newest_first(
        scoped(LeadImport, workspace_id),
        LeadImport.created_at,
        LeadImport.id,
        cursor=cursor,
        limit=limit,
    )
    return page_of(list((await session.scalars(query)).all()), limit, cursor)


def preview(
    settings: Settings,
    imp: LeadImport,
    *,
    default_country: str | None = None,
    sample: int = 20,
) -> ImportPreview:
    """The file's columns, the mapping, and its first rows as the import would judge them
    (`default_country`: the workspace's). Reads the file: call it off the event loop."""
    from leadflood.imports.validation import NormalizedLead, normalize_row  # see import_worker

    source = open_csv(resolve_path(settings, imp))
    mapping = {h: imp.mapping.get(h) for h in source.headers}
    rows = []
    for row in source.sample(sample):
        outcome = normalize_row(
            row.values, mapping, default_region=default_country, problem=row.problem
        )
        if isinstance(outcome, NormalizedLead):
            warnings = [asdict(r) for r in outcome.warnings]
            outcome.warnings = []
            lead = {k: v for k, v in asdict(outcome).items() if v not in (None, {}, "", [])}
            rows.append(
                SampleRow(
                    row_number=row.number,
                    line=row.line,
                    values=row.values,
                    ok=True,
                    lead=lead,
                    reasons=warnings,
                )
            )
        else:
            reasons = [asdict(r) for r in outcome.reasons]
            rows.append(
                SampleRow(
                    row_number=row.number,
                    line=row.line,
                    values=row.values,
                    ok=False,
                    reasons=reasons,
                )
            )
    return ImportPreview(
        headers=source.headers,
        encoding=source.encoding,
        delimiter=source.delimiter,
        automatic=auto_map(source.headers),
        mapping=mapping,
        has_identity=has_identity(mapping),
        default_country=default_country,
        fields=list(LEAD_FIELDS),
        sample=rows,
    )


async def default_country(session: AsyncSession, workspace_id: uuid.UUID) -> str | None:
    """The workspace's default country, which reads national phone numbers (see the pipeline)."""
    country: str | None = await session.scalar(
        select(Workspace.default_country).where(Workspace.id == workspace_id)
    )
    return country


async def load_preview(
    session: AsyncSession, settings: Settings, imp: LeadImport, *, sample: int = 20
) -> ImportPreview:
    """`preview` with the workspace's default country, read off the event loop."""
    country = await default_country(session, imp.workspace_id)
    return await asyncio.to_thread(
        partial(preview, settings, imp, default_country=country, sample=sample)
    )


async def set_mapping(
    session: AsyncSession,
    settings: Settings,
    workspace_id: uuid.UUID,
    import_id: uuid.UUID,
    data: MappingUpdate,
) -> LeadImport:
    """Replaces the mapping with the automatic one plus `data.overrides` (MappingError: 422)."""
    imp = await get(session, workspace_id, import_id, for_update=True)
    if imp.state not in EDITABLE:
        raise ImportAlreadyStarted(details={"state": imp.state.value})
    headers = (await asyncio.to_thread(open_csv, resolve_path(settings, imp))).headers
    mapping = apply_overrides(auto_map(headers), data.overrides)
    if not has_identity(mapping):
        raise MappingWithoutIdentity(details={"mapping": mapping})
    imp.mapping = mapping
    imp.state = ImportState.mapping
    if data.on_duplicate is not None:
        imp.on_duplicate = data.on_duplicate
    await _check_targets(session, workspace_id, data.list_id, data.icp_id)
    if data.list_id is not None:
        imp.list_id = data.list_id
    if data.icp_id is not None:
        imp.icp_id = data.icp_id
    await session.flush()
    return imp


async def start(
    session: AsyncSession, workspace_id: uuid.UUID, import_id: uuid.UUID
) -> tuple[LeadImport, int]:
    imp = await get(session, workspace_id, import_id, for_update=True)
    if imp.state not in EDITABLE:
        raise ImportAlreadyStarted(
            "This import has already been started.", details={"state": imp.state.value}
        )
    if not has_identity(imp.mapping):
        raise MappingWithoutIdentity(details={"mapping": imp.mapping})
    imp.state = ImportState.queued
    job_id = await jobs.defer(
        session,
        IMPORT_TASK,
        workspace_id=workspace_id,
        subject_type="lead_import",
        subject_id=imp.id,
        queueing_lock=f"lead-import:{imp.id}",
        import_id=str(imp.id),
    )
    imp.job_id = job_id
    await session.flush()
    return imp, job_id


def _layout_of(settings: Settings, imp: LeadImport) -> tuple[list[str] | None, str]:
    """The uploaded file's headers and delimiter (so a `;` file's rejects open in the same
    spreadsheet settings); none and `,` when the file is gone."""
    try:
        source = open_csv(resolve_path(settings, imp))
    except (OSError, CsvFileError):
        return None, ","
    return source.headers, source.delimiter


async def rejected_csv(
    db: Database, settings: Settings, imp: LeadImport, *, page: int = 5000
) -> AsyncIterator[str]:
    """The rejected rows as CSV text, a page at a time, each page in its own short transaction
    (a download may outlive the request's session)."""
    async for text in _problem_rows_csv(db, settings, imp, LeadImportRejection, page=page):
        yield text


async def warnings_csv(
    db: Database, settings: Settings, imp: LeadImport, *, page: int = 5000
) -> AsyncIterator[str]:
    """The rows kept without some of their values, as CSV text laid out like the rejected
    rows: which values were left out and why, then the values as read."""
    async for text in _problem_rows_csv(db, settings, imp, LeadImportWarning, page=page):
        yield text


async def _problem_rows_csv(
    db: Database,
    settings: Settings,
    imp: LeadImport,
    table: type[LeadImportRejection] | type[LeadImportWarning],
    *,
    page: int,
) -> AsyncIterator[str]:
    headers, delimiter = await asyncio.to_thread(_layout_of, settings, imp)
    after = 0
    first = True
    while True:
        async with db.session() as session:
            found = await session.scalars(
                select(table)
                .where(table.import_id == imp.id, table.row_number > after)
                .order_by(table.row_number)
                .limit(page)
            )
            rows = cast(Sequence[LeadImportRejection | LeadImportWarning], found.all())
        if headers is None:
            headers = list(rows[0].raw) if rows else []
        if first:
            yield _csv_line(["row", "line", "reasons", "details", *headers], delimiter)
            first = False
        for row in rows:
            reasons = row.reasons
            yield _csv_line(
                [
                    str(row.row_number),
                    str(row.line),
                    "; ".join(r["code"] for r in reasons),
                    "; ".join(r["message"] for r in reasons),
                    *(str(row.raw.get(h, "")) for h in headers),
                ],
                delimiter,
            )
        if len(rows) < page:
            return
        after = rows[-1].row_number


def _csv_line(values: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(values)
    return out.getvalue()

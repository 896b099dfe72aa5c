"""The ICP page, where an ICP's searches are started and followed."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.icps import criteria as vocab
from leadflood.icps import service as icps
from leadflood.icps.schemas import SOURCES
from leadflood.icps.views import CRITERIA_FIELDS, WEIGHT_LABELS
from leadflood.providers.base import ProviderNotConfiguredError
from leadflood.schemas import human_message
from leadflood.searches import service as searches
from leadflood.searches.schemas import SearchRequest
from leadflood.web.deps import MemberDep, RuntimeDep, SessionDep, ViewerDep
from leadflood.web.render import render

router = APIRouter(include_in_schema=False)


async def _detail(
    request: Request,
    session: AsyncSession,
    workspace_id: uuid.UUID,
    icp_id: uuid.UUID,
    *,
    search_error: str | None = None,
    asked: dict[str, str | None] | None = None,
    status: int = 200,
) -> HTMLResponse:
    icp = await icps.get(session, workspace_id, icp_id)
    runs = (await searches.list_runs(session, workspace_id, icp.id, limit=20)).items
    counts = await icps.lead_counts(session, workspace_id, [icp.id])
    return render(
        request,
        "icps/show.html",
        {
            "active": "icps",
            "icp": icp,
            "runs": [searches.read(run) for run in runs],
            "latest": searches.read(runs[0]) if runs else None,
            "rejections": (
                await searches.rejection_reasons(session, workspace_id, runs[0].id)
                if runs and runs[0].rejected
                else []
            ),
            "leads": await icps.top_leads(session, workspace_id, icp.id, limit=15),
            "lead_count": counts.get(icp.id, 0),
            "criteria_fields": CRITERIA_FIELDS,
            "points": vocab.points_per_criterion(icp.criteria, icp.weights),
            "weight_labels": WEIGHT_LABELS,
            "penalties": vocab.PENALTIES,
            "sources": SOURCES,
            "search_error": search_error,
            "asked": asked or {},
            "created": request.query_params.get("created"),
            "saved": request.query_params.get("saved"),
        },
        status=status,
    )


@router.get("/icps/{icp_id}", response_class=HTMLResponse)
async def icp_detail(
    icp_id: uuid.UUID, request: Request, session: SessionDep, member: ViewerDep
) -> Response:
    return await _detail(request, session, member.workspace_id, icp_id)


@router.post("/icps/{icp_id}/search", response_class=HTMLResponse)
async def start_search(
    icp_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    member: MemberDep,
    runtime: RuntimeDep,
) -> Response:
    raw = await request.form()
    asked = {
        "source": str(raw.get("source") or "") or None,
        "max_results": str(raw.get("max_results") or "500"),
    }
    try:
        data = SearchRequest.model_validate(asked)
        await searches.start(session, runtime.providers, member.workspace_id, icp_id, data)
    except ValidationError as exc:
        labels = {"max_results": "Up to", "source": "Source"}
        message = "; ".join(
            f"{labels.get(str(e['loc'][0]), 'Search')}: {human_message(e)}" for e in exc.errors()
        )
        return await _detail(
            request, session, member.workspace_id, icp_id,
            search_error=message, asked=asked, status=422,
        )  # fmt: skip
    except ProviderNotConfiguredError as exc:
        return await _detail(
            request, session, member.workspace_id, icp_id,
            search_error=str(exc), asked=asked, status=503,
        )  # fmt: skip
    return RedirectResponse(f"/icps/{icp_id}#run", status_code=303)


def routers() -> list[APIRouter]:
    """This feature's pages, in the order they are matched."""
    return [router]

from __future__ import annotations

import re

from tests.support.accounts import Account, browser_login, csrf_of
from tests.support.jobs import drain

FORM = {
    "name": "Sales leaders",
    "description": "Mid-size software companies",
    "source": "sandbox",
    "titles": "VP Sales, Head of Sales",
    "departments": "sales",
    "employee_ranges": "51-200, 201-1000",
    "countries": "US, GB, DACH",
    "w_titles": "40",
}


async def _signed_in(anon_client, owner: Account) -> str:
    await browser_login(anon_client, owner)
    return csrf_of((await anon_client.get("/icps/new")).text)


async def test_create_an_icp_run_a_search_and_see_scored_leads(
    anon_client, owner: Account, runtime
) -> None:
    token = await _signed_in(anon_client, owner)
    empty = await anon_client.get("/icps")
    assert "No ICPs yet" in empty.text and 'href="/icps"' in empty.text
    created = await anon_client.post("/icps", data={**FORM, "csrf_token": token})
    assert created.status_code == 303
    location = created.headers["location"]
    icp_id = re.search(r"/icps/([0-9a-f-]{36})", location).group(1)  # type: ignore[union-attr]
    page = await anon_client.get(location)
    assert "ICP created" in page.text and "No search yet" in page.text
    started = await anon_client.post(
        f"/icps/{icp_id}/search",
        data={"source": "sandbox", "max_results": "120", "csrf_token": token},
    )
    assert started.status_code == 303
    running = await anon_client.get(f"/icps/{icp_id}")
    assert f'data-run="/v1/icps/{icp_id}/search-runs/' in running.text
    assert 'data-state="queued"' in running.text
    await drain(runtime)
    done = await anon_client.get(f"/icps/{icp_id}")
    assert 'data-state="completed"' in done.text
    assert "+53 title matches &#39;VP Sales&#39;" in done.text
    assert 'class="score score-' in done.text
    listing = await anon_client.get("/icps")
    assert "Sales leaders" in listing.text and "badge-completed" in listing.text


async def test_form_errors_show_next_to_their_fields(anon_client, owner: Account) -> None:
    token = await _signed_in(anon_client, owner)
    bad = {**FORM, "employee_ranges": "lots", "w_titles": "500", "name": "", "csrf_token": token}
    response = await anon_client.post("/icps", data=bad)
    assert response.status_code == 422
    assert 'id="e-employee_ranges"' in response.text
    assert "&#39;lots&#39; is not a range like" in response.text
    assert 'id="e-w_titles"' in response.text and 'id="e-name"' in response.text
    assert 'value="VP Sales, Head of Sales"' in response.text  # what was typed is kept
    nothing = {"name": "Empty", "csrf_token": token}
    response = await anon_client.post("/icps", data=nothing)
    assert "Set at least one of titles" in response.text


async def test_edit_and_delete(anon_client, owner: Account) -> None:
    token = await _signed_in(anon_client, owner)
    location = (await anon_client.post("/icps", data={**FORM, "csrf_token": token})).headers[
        "location"
    ]
    icp_path = location.split("?")[0]
    form = await anon_client.get(f"{icp_path}/edit")
    assert 'value="Sales leaders"' in form.text and 'value="40"' in form.text
    saved = await anon_client.post(
        f"{icp_path}/edit", data={**FORM, "name": "Sales bosses", "csrf_token": token}
    )
    assert saved.status_code == 303
    assert "Sales bosses" in (await anon_client.get(icp_path)).text
    deleted = await anon_client.post(f"{icp_path}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    assert (await anon_client.get(icp_path)).status_code == 404


async def test_apollo_without_a_key_says_what_to_do(anon_client, owner: Account) -> None:
    token = await _signed_in(anon_client, owner)
    location = (await anon_client.post("/icps", data={**FORM, "csrf_token": token})).headers[
        "location"
    ]
    icp_path = location.split("?")[0]
    response = await anon_client.post(
        f"{icp_path}/search", data={"source": "apollo", "max_results": "10", "csrf_token": token}
    )
    assert response.status_code == 503
    assert "apollo has no API key" in response.text
    assert '<option value="apollo" selected>' in response.text  # what was asked is kept
    too_few = await anon_client.post(
        f"{icp_path}/search", data={"source": "apollo", "max_results": "0", "csrf_token": token}
    )
    assert too_few.status_code == 422
    assert "Up to: Use a number of at least 1." in too_few.text
    assert 'value="0"' in too_few.text and '<option value="apollo" selected>' in too_few.text


async def test_forms_need_the_csrf_token(anon_client, owner: Account) -> None:
    await _signed_in(anon_client, owner)
    assert (await anon_client.post("/icps", data=FORM)).status_code == 403

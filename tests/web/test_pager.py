"""The keyset pager shared by every list page."""

from __future__ import annotations

from leadflood.pagination import Window
from leadflood.web.render import templates


def pager(**kwargs: object) -> str:
    source = '{% import "components.html" as ui %}{{ ui.pager(**kw) }}'
    return templates.env.from_string(source).render(kw=kwargs)


def test_the_first_page_links_only_onwards_and_keeps_the_filters() -> None:
    page = Window([], next_cursor="abc")
    html = pager(path="/leads", cursor=None, page=page, query="status=new&q=x")
    assert "First" not in html and "Previous" not in html
    assert 'href="/leads?status=new&amp;q=x&amp;cursor=abc">Next \u203a</a>' in html


def test_a_later_page_links_back_to_the_first_and_the_previous_with_the_same_filters() -> None:
    page = Window([], next_cursor=None, prev_cursor="back")
    html = pager(path="/outbox", cursor="abc", page=page, query="status=sent")
    assert 'href="/outbox?status=sent">« First</a>' in html
    assert 'rel="prev" href="/outbox?status=sent&amp;cursor=back">\u2039 Previous</a>' in html
    assert "Next" not in html


def test_without_filters_the_links_carry_only_the_cursor() -> None:
    page = Window([], next_cursor="b", prev_cursor="a")
    html = pager(path="/icps", cursor="a", page=page, first="« Newest", next="Older \u203a")
    assert 'href="/icps">« Newest</a>' in html
    assert 'href="/icps?cursor=a">\u2039 Previous</a>' in html
    assert 'href="/icps?cursor=b">Older \u203a</a>' in html


def test_a_single_page_has_no_links_at_all() -> None:
    assert pager(path="/icps", cursor=None, page=Window([])).endswith('"Pages"></nav>')

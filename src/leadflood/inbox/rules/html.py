"""HTML-only mail as text: quoted history cut with quotequail, then tags dropped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCKS = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "section", "article", "header", "footer", "pre",
}  # fmt: skip
SKIPPED = {"script", "style", "head", "title"}
# Quoted history some clients nest instead of marking with an intro line.
QUOTE_CLASSES = re.compile(r"gmail_quote|yahoo_quoted|moz-cite-prefix|protonmail_quote", re.I)
VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source"}


def visible_html(html: str) -> str:
    """The HTML above the quoted part (quotequail finds "On … wrote:" and forward headers)."""
    import quotequail

    try:
        pieces = quotequail.quote_html(html)
    except Exception:  # a third-party parser on arbitrary markup: keep the whole document
        return html
    shown = [markup for expanded, markup in pieces if expanded]
    return shown[0] if shown else html


def html_to_text(html: str) -> str:
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; this guards against the unforeseen
        return re.sub(r"<[^>]*>", " ", html)
    text = "".join(parser.out)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip_depth = 0
        self.stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if tag in BLOCKS:
            self.out.append("\n")
        if tag in VOID:
            return
        classes = " ".join(value or "" for name, value in attrs if name in ("class", "id"))
        hidden = tag in SKIPPED or tag == "blockquote" or bool(QUOTE_CLASSES.search(classes))
        self.stack.append((tag, hidden))
        if hidden:
            self.skip_depth += 1

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if tag in BLOCKS:
            self.out.append("\n")
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                for _, hidden in self.stack[index:]:
                    if hidden:
                        self.skip_depth -= 1
                del self.stack[index:]
                break

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.out.append(data)

"""Article text and metadata from an HTML page, with trafilatura (no navigation, ads, comments
or scripts). The extracted text, paragraphs separated by blank lines, is what quotes come from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.errors import VerbatimError

MIN_ARTICLE_CHARS = 200  # less than this is an index page, an empty shell or a paywall stub
_LANG = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?", re.I)


@dataclass
class Extracted:
    text: str
    title: str | None
    source: str | None
    author: str | None
    published: str | None
    url: str | None
    language: str | None


class NoArticle(VerbatimError):
    """The page holds no article text (the reason is the message)."""


def extract_html(raw: bytes | str, url: str | None = None) -> Extracted:
    """The main text and metadata of an article page; NoArticle when there is none."""
    import trafilatura

    html = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if not html.strip():
        raise NoArticle("empty page")
    document = trafilatura.bare_extraction(html, url=url, with_metadata=True,
                                           include_comments=False, include_tables=False,
                                           favor_precision=True)
    if document is None:
        raise NoArticle("no article text found (an index page, a shell or a stub?)")
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    title = (data.get("title") or "").strip() or None
    lines = [line.strip() for line in (data.get("text") or "").splitlines() if line.strip()]
    if lines and title and lines[0] == title:
        lines = lines[1:]  # the headline is metadata, not a paragraph
    text = "\n\n".join(lines)
    if len(text) < MIN_ARTICLE_CHARS:
        raise NoArticle(f"only {len(text)} characters of article text (under "
                        f"{MIN_ARTICLE_CHARS}: an index page, a shell or a paywall stub?)")
    head = html.encode("utf-8", errors="replace")[:4096]
    lang = _LANG.search(head)
    return Extracted(
        text=text, title=title, source=(data.get("sitename") or "").strip() or None,
        author=(data.get("author") or "").strip() or None,
        published=(data.get("date") or None), url=(data.get("url") or url or None),
        language=data.get("language") or (lang.group(1).decode().lower() if lang else None))

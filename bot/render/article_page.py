"""The article page's HTML: an article's stored text with the quote the bot gave marked, so
that anyone can check a quote in its context, also when the article has no link of its own; and
the page for an article that is gone. Everything from the corpus is HTML-escaped; the page's only
script and style are its own, allowed by their hashes in a strict Content-Security-Policy.

Only the document is composed here; the web side (its URL, which span to mark, the handler and
the server) is `bot/chat/pages.py`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

from bot.engine import ArticleText
from bot.render.labels import safe_url
from index import paragraphs

__all__ = ["CONTENT_SECURITY_POLICY", "EXPIRED", "MINI_APP_CONTENT_SECURITY_POLICY", "MOVED_OUT",
           "PAGE_GONE", "PAGE_UNAVAILABLE", "SCRIPT", "STYLE", "TELEGRAM_WEB_ORIGINS",
           "render_article", "render_gone"]

STYLE = """\
:root{color-scheme:light dark}
body{margin:0;background:#fff;color:#1b1b1b;
font:1.125rem/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
-webkit-text-size-adjust:100%;text-size-adjust:100%}
main{max-width:40rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.5rem;line-height:1.3;margin:.5rem 0}
.meta{color:#555;font-size:.95rem;margin:0 0 1.5rem}
a{color:#0b57d0}
article p{margin:0 0 1em;overflow-wrap:break-word}
mark{background:#ffe066;color:inherit;padding:.1em 0;border-radius:2px}
footer{margin-top:2rem;color:#666;font-size:.85rem}
.notice{border-left:4px solid #c5221f;padding:.25rem .75rem;margin:0 0 1.5rem}
@media (prefers-color-scheme:dark){body{background:#141414;color:#e6e6e6}
.meta,footer{color:#aaa}a{color:#8ab4f8}mark{background:#6b5600;color:#fff}}
"""
# Run at parse time, after the quote: it stands in the middle of the screen when the page opens
# (Telegram opens the page without a #fragment, so `#quote` alone would not scroll).
SCRIPT = 'var q=document.getElementById("quote");if(q)q.scrollIntoView({block:"center"});'


def _hash(source: str) -> str:
    # the policy allows the page's own script and style by their SHA-256, and nothing else
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def _policy(frame_ancestors: str) -> str:
    return (f"default-src 'none'; style-src {_hash(STYLE)}; script-src {_hash(SCRIPT)}; "
            f"img-src 'none'; frame-ancestors {frame_ancestors}; base-uri 'none'; "
            "form-action 'none'")


# Telegram's web clients (Web K at web.telegram.org/k/, Web A at web.telegram.org/a/) open a
# Mini App in an iframe of their own page: the page must let exactly them frame it.
TELEGRAM_WEB_ORIGINS = ("https://web.telegram.org", "https://*.web.telegram.org")
CONTENT_SECURITY_POLICY = _policy("'none'")
MINI_APP_CONTENT_SECURITY_POLICY = _policy(" ".join(TELEGRAM_WEB_ORIGINS))


@dataclass(frozen=True)
class _Piece:
    """A paragraph's slice `text[start:end]`, highlighted or not."""

    start: int
    end: int
    marked: bool


def _pieces(para_start: int, para_end: int, span: tuple[int, int] | None) -> list[_Piece]:
    """A paragraph cut where the marked span starts and ends (a span may cross paragraphs:
    each gets its own part of it); empty slices left out."""
    if span is None or span[1] <= para_start or span[0] >= para_end:
        return [_Piece(para_start, para_end, False)]
    lo, hi = max(span[0], para_start), min(span[1], para_end)
    found = [_Piece(para_start, lo, False), _Piece(lo, hi, True), _Piece(hi, para_end, False)]
    return [p for p in found if p.end > p.start]


def _body(text: str, span: tuple[int, int] | None) -> tuple[str, bool]:
    """The article's paragraphs as <p>, the span's pieces in <mark> (the first with
    id="quote"); whether anything was marked."""
    out: list[str] = []
    first = True
    for para in paragraphs(text):
        html = []
        for piece in _pieces(para.start, para.end, span):
            shown = escape(text[piece.start:piece.end], quote=False)
            if piece.marked:
                opening = '<mark id="quote">' if first else "<mark>"
                html.append(f"{opening}{shown}</mark>")
                first = False
            else:
                html.append(shown)
        out.append(f'<p dir="auto">{"".join(html)}</p>')
    return "\n".join(out), not first


def _document(title: str, inner: str, script: bool) -> str:
    tail = f"<script>{SCRIPT}</script>\n" if script else ""
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{inner}\n"
        "<footer>Quoted by Verbatim: every quote is this text, character for character."
        "</footer>\n</main>\n"
        f"{tail}</body>\n</html>\n")


def _meta(found: ArticleText, marked: bool) -> str:
    """Source · date · the original's link (only an http(s) one) · a link down to the quote."""
    ref = found.article
    items = []
    if ref.source:
        items.append(f'<span dir="auto">{escape(ref.source)}</span>')
    if ref.published:
        items.append(f'<time datetime="{escape(ref.published)}">{escape(ref.published)}</time>')
    link = safe_url(ref.url)
    if link:
        host = urlsplit(link).hostname or link
        items.append(f'<a href="{escape(link)}" rel="noopener noreferrer nofollow">'
                     f"Original article</a> ({escape(host)})")
    if marked:
        items.append('<a href="#quote">Go to the quote</a>')
    return f'<p class="meta">{" · ".join(items)}</p>' if items else ""


def render_article(found: ArticleText, span: tuple[int, int] | None,
                   notice: str | None = None) -> str:
    """The page of an article: title, source, date, link, a notice (why nothing is marked),
    its whole text, `span` marked."""
    body, marked = _body(found.text, span)
    title = found.article.title
    lang = f' lang="{escape(found.language)}"' if found.language else ""
    said = f'<p class="notice" role="status">{escape(notice)}</p>\n' if notice else ""
    inner = (f'<header>\n<h1 dir="auto"{lang}>{escape(title)}</h1>\n{_meta(found, marked)}\n'
             f"{said}</header>\n<article{lang}>\n{body}\n</article>")
    return _document(title, inner, script=marked)


def render_gone(message: str) -> str:
    """The page for an article that is not (or no longer) there, or an index not loaded."""
    return _document("Verbatim", f"<h1>{escape(message)}</h1>", script=False)


# What a page says instead of (or above) an article. In English: a page opened from a link
# carries no reader's language, and the document says `lang="en"`.
PAGE_GONE = "This article is no longer in the index."
PAGE_UNAVAILABLE = "The index is not loaded yet. Please try again in a minute."
MOVED_OUT = "The quoted passage is no longer in this article: it changed since it was quoted."
EXPIRED = "This quote link has expired: the article is shown without the quote."


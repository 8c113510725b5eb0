"""Presentation: what the bot shows people, in the reader's language (a `Translator`; English
by default). Only the bot's own words are translated: quotes, titles and publishers are shown
exactly as stored.

- `text`: an answer as plain text (console, command line);
- `replies`, `pieces`: an answer, a paragraph, the newest articles as Telegram HTML, from
  pieces (a title, a date, an attribution, a quote in blockquotes);
- `packing`: Telegram's limit of 4,096 UTF-16 units, and blocks packed into messages;
- `labels`: what text and HTML say alike (periods, the line above a filtered answer);
- `messages`: the bot's own words, and an answer's notice in the reader's language;
- `speakers`: who said a quote; `pushes`: new articles, digests, a story's later outlets;
- `article_page`: the HTML of the article page (served by `bot.chat`).
"""

from bot.render.article_page import (
    CONTENT_SECURITY_POLICY,
    EXPIRED,
    MINI_APP_CONTENT_SECURITY_POLICY,
    MOVED_OUT,
    PAGE_GONE,
    PAGE_UNAVAILABLE,
    SCRIPT,
    STYLE,
    render_article,
    render_gone,
)
from bot.render.labels import period_label, shorten
from bot.render.messages import NEAREST, NEW_CONVERSATION, PARAGRAPH, notice
from bot.render.packing import TELEGRAM_LIMIT, Block, pack, utf16_len
from bot.render.pieces import attribution_html, quote_blocks
from bot.render.pushes import addition_html, digest_html, push_html, with_also
from bot.render.replies import answer_html, latest_html, paragraph_pages
from bot.render.text import as_text

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "EXPIRED",
    "MINI_APP_CONTENT_SECURITY_POLICY",
    "MOVED_OUT",
    "NEAREST",
    "NEW_CONVERSATION",
    "PAGE_GONE",
    "PAGE_UNAVAILABLE",
    "PARAGRAPH",
    "SCRIPT",
    "STYLE",
    "TELEGRAM_LIMIT",
    "Block",
    "addition_html",
    "answer_html",
    "as_text",
    "attribution_html",
    "digest_html",
    "latest_html",
    "notice",
    "pack",
    "paragraph_pages",
    "period_label",
    "push_html",
    "quote_blocks",
    "render_article",
    "render_gone",
    "shorten",
    "utf16_len",
    "with_also",
]

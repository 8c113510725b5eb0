"""Dated and sourced questions end to end: two publishers' feeds on a local news site, fetched
and indexed by `build_index.py --fetch`; the real bot answers from the period or publisher a
question names, says so when a period or publisher has nothing, and lets a group's
administrators (only) choose the chat's publishers with /sources."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.botproc import start_bot
from tests.support.news_site import NewsSite, article_page, rss
from tests.support.texts import FLOOD, MUSEUM, PORT
from tests.support.workspace import ROOT, SEED, make_settings

GROUP, ADMIN, MEMBER, USER = -950, 7, 8, 4242


@pytest.fixture(scope="module")
def news_bot(api, tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("filters"))
    settings.corpus_dir.mkdir()
    shutil.copy(SEED, settings.corpus_dir / SEED.name)  # undated: never in a period
    site = NewsSite()
    base, today = site.url, dt.date.today()
    pages = {  # path: (title, paragraphs, days ago, publisher's feed)
        "/news/flood": ("Rescuers reach flooded valley", FLOOD, 2, "/news.xml"),
        "/news/museum": ("Museum reopens west wing", MUSEUM, 40, "/news.xml"),
        "/courier/port": ("Kessel port sets container record", PORT, 3, "/courier.xml"),
    }
    feeds: dict[str, list[dict]] = {"/news.xml": [], "/courier.xml": []}
    for path, (title, paragraphs, days, feed) in pages.items():
        published = (today - dt.timedelta(days=days)).isoformat()
        site.put(path, article_page(title, paragraphs, published, f"{base}{path}"))
        feeds[feed].append({"title": title, "link": f"{base}{path}"})
    for feed, items in feeds.items():
        site.put(feed, rss(items), kind="application/rss+xml")
    feeds_file = settings.data_dir / "feeds.toml"
    feeds_file.parent.mkdir(parents=True, exist_ok=True)
    feeds_file.write_text(f'[[feeds]]\nurl = "{base}/news.xml"\nname = "Example News"\n\n'
                          f'[[feeds]]\nurl = "{base}/courier.xml"\nname = "Kessel Courier"\n',
                          encoding="utf-8")
    env = {**os.environ, "FEEDS_FILE": str(feeds_file), "CORPUS_DIR": str(settings.corpus_dir),
           "DATA_DIR": str(settings.data_dir), "INDEX_DIR": str(settings.resolved_index_dir),
           "FETCH_HOST_DELAY_SECONDS": "0", "FETCH_ALLOW_PRIVATE": "true"}  # on 127.0.0.1
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "build_index.py", "--fetch", "--quiet"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    api.add_chat(GROUP, "supergroup", "News desk", admins=(ADMIN,))
    bot = start_bot(api, settings)
    yield bot
    bot.stop()
    site.stop()


def _ask(api, text: str, chat: int = USER, user: int = USER) -> str:
    """A user's message, and the text of the bot's first message after it in that chat."""
    before = len(api.messages_to(chat))
    api.user_message(chat, text, user_id=user)
    return api.wait_for(lambda m: m["chat"]["id"] == chat
                        and len(api.messages_to(chat)) > before, timeout=60)[before]["text"]


def test_a_dated_question_is_answered_from_the_period_only(api, news_bot):
    reply = _ask(api, "How many people were moved to schools last week?")
    assert reply.startswith("Articles published ")
    assert "about 4,000 people had been moved to schools" in reply
    assert "Rescuers reach flooded valley" in reply
    # The museum article is 40 days old: last week's articles do not hold its sentence.
    museum = _ask(api, "What did the museum's director say at the opening last week?")
    assert "Admission to the new gallery" not in museum
    # An empty period says so and names the nearest dated articles.
    empty = _ask(api, "What did the museum's director say in March 2005?")
    assert empty.startswith("No article I hold was published Mar 2005.")
    assert "The nearest dated articles:" in empty and "Museum reopens west wing" in empty
    # /latest takes a period too.
    latest = _ask(api, "/latest last week")
    assert "Rescuers reach flooded valley" in latest and "Kessel port" in latest
    assert "Museum reopens" not in latest


def test_a_named_publisher_limits_the_answer_and_an_unknown_one_is_listed(api, news_bot):
    reply = _ask(api, "What did Kessel Courier report about the cranes?")
    assert reply.startswith("Articles by Kessel Courier:")
    assert "double the number of cranes" in reply
    unknown = _ask(api, "What did Reuters say about the flood?")
    assert unknown == ("I have no articles from Reuters. The sources I have: Example News, "
                       "Kessel Courier.")


def test_sources_chosen_by_a_group_admin_and_refused_to_a_member(api, news_bot):
    refused = _ask(api, "/sources", chat=GROUP, user=MEMBER)
    assert refused == "Only the group's administrators can change its updates."
    before = len(api.messages_to(GROUP))
    api.user_message(GROUP, "/sources", user_id=ADMIN)
    menu = api.wait_for(lambda m: m["chat"]["id"] == GROUP
                        and len(api.messages_to(GROUP)) > before)[before]
    buttons = {b["text"]: b["callback_data"]
               for row in menu["reply_markup"]["inline_keyboard"] for b in row}
    assert set(buttons) == {"Example News", "Kessel Courier", "✅ All publishers"}
    # A member's press is refused and changes nothing.
    pressed = api.press_button(menu, buttons["Kessel Courier"], user_id=MEMBER)
    assert api.answer_to(pressed)["text"] == ("Only the group's administrators can change its "
                                              "updates.")
    assert "4,000 people" in _ask(api, "/ask How many people were moved to schools?",
                                  chat=GROUP, user=MEMBER)
    # The admin chooses the Kessel Courier: the group's questions search it only.
    pressed = api.press_button(menu, buttons["Kessel Courier"], user_id=ADMIN)
    assert api.answer_to(pressed)["text"] == "Questions here search: Kessel Courier."
    chosen = _ask(api, "/ask How many people were moved to schools?", chat=GROUP, user=MEMBER)
    assert chosen.startswith("Articles by Kessel Courier:") and "4,000" not in chosen
    assert "Kessel port" in _ask(api, "/ask How many cranes will the port add?", chat=GROUP,
                                 user=MEMBER)
    # Private chats keep all publishers; "All publishers" brings the group back to all.
    assert "4,000 people" in _ask(api, "How many people were moved to schools?")
    pressed = api.press_button(menu, buttons["✅ All publishers"], user_id=ADMIN)
    assert api.answer_to(pressed)["text"] == "Questions here search all publishers."
    assert "4,000 people" in _ask(api, "/ask How many people were moved to schools?",
                                  chat=GROUP, user=MEMBER)

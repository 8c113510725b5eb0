"""The bot fetches news by itself (FETCH_INTERVAL_MINUTES) and pushes it to a following group
exactly once; admins run a fetch now with /fetch (real bot process, local news site)."""

from __future__ import annotations

import shutil
import time

from tests.support.botproc import start_bot, wait_until
from tests.support.fake_bot_api import FakeTelegram
from tests.support.news_site import NewsSite, article_page, rss
from tests.support.texts import FLOOD, PORT
from tests.support.workspace import SEED, build, make_settings

ADMIN, MAINTAINER, GROUP = 7, 99, -900


def test_fetched_news_reaches_a_following_group_once(tmp_path, encoder):
    settings = make_settings(tmp_path)
    settings.corpus_dir.mkdir()
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    build(settings, encoder)
    site = NewsSite()
    base = site.url
    site.put("/news/port", article_page("Kessel port sets container record", PORT, "2024-04-30",
                                        f"{base}/news/port"))
    items = [{"title": "Kessel port sets container record", "link": f"{base}/news/port"}]
    site.put("/rss.xml", rss(items), kind="application/rss+xml")
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feeds]]\nurl = "{base}/rss.xml"\nname = "Example News"\n',
                     encoding="utf-8")
    api = FakeTelegram()
    api.start()
    api.add_chat(GROUP, "supergroup", "Weather desk", admins=(ADMIN,))
    env = {"FEEDS_FILE": str(feeds), "FETCH_INTERVAL_MINUTES": "0.05",
           "FETCH_HOST_DELAY_SECONDS": "0", "FETCH_ALLOW_PRIVATE": "true",  # on 127.0.0.1
           "PUSH_INTERVAL_SECONDS": "0.5", "CORPUS_DIR": str(settings.corpus_dir),
           "ADMIN_IDS": str(MAINTAINER)}
    bot = start_bot(api, settings, env)
    try:
        port_file = settings.corpus_dir / "example-news" / \
            "2024-04-30-kessel-port-sets-container-record.md"
        wait_until(port_file.exists, 90, "the bot's first fetch wrote nothing")
        sent = api.user_message(GROUP, "/follow flooded valley rescue", user_id=ADMIN)
        api.wait_for(lambda m: m["chat"]["id"] == GROUP and m["reply_to"]
                     == sent["message_id"])

        # A new item in the feed: fetched, indexed, reloaded and pushed, with no one acting.
        site.put("/news/flood", article_page("Rescuers reach flooded valley", FLOOD,
                                             "2024-05-03", f"{base}/news/flood"))
        items.append({"title": "Rescuers reach flooded valley", "link": f"{base}/news/flood"})
        site.put("/rss.xml", rss(items), kind="application/rss+xml")
        pushed = api.wait_for(lambda m: m["chat"]["id"] == GROUP and "Rescuers reach" in
                              m["text"], timeout=120)
        assert "flooded Ardent valley" in pushed[0]["text"]
        time.sleep(8)  # more fetch, reload and delivery rounds: nothing comes twice
        assert len([m for m in api.messages_to(GROUP) if "Rescuers reach" in m["text"]]) == 1
        assert not [m for m in api.messages_to(GROUP) if "Kessel" in m["text"]]

        # /fetch: admins only; it replies with the summary.
        refused = api.user_message(5, "/fetch", user_id=5)
        api.wait_for(lambda m: m["chat"]["id"] == 5 and m["message_id"] > refused["message_id"])
        assert "maintainers" in api.messages_to(5)[-1]["text"]
        api.user_message(MAINTAINER, "/fetch", user_id=MAINTAINER)
        summary = api.wait_for(lambda m: m["chat"]["id"] == MAINTAINER and (
            "Fetched" in m["text"] or "Another fetch" in m["text"]), timeout=60)
        assert "0 new" in summary[0]["text"] or "Another fetch" in summary[0]["text"]
    finally:
        bot.stop()
        api.stop()
        site.stop()

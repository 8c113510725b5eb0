"""The bot's state: everything it remembers, in SQLite or PostgreSQL, behind small methods."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Literal

import sqlalchemy as sa

from bot.state.answers import StoredAnswer
from bot.state.inbox import Inbox
from bot.state.outbox import Outbox
from bot.state.schema import (
    announced,
    answer_messages,
    answers,
    chat_sources,
    clip,
    conversations,
    feedback,
    fit_key,
    follows,
    inbox,
    insert_ignore,
    make_engine,
    memberships,
    migrate,
    now,
    outbox,
    quote_links,
    rate_counters,
    subscriptions,
    width,
)
from index.sources import Ledger

log = logging.getLogger(__name__)
# Column lengths, as the schema declares them; PostgreSQL refuses longer values, SQLite would
# keep them.
VERSION_CHARS = min(width(answers.c.index_version), width(announced.c.index_version))
TOPIC_CHARS = width(follows.c.topic)
RATE_KEY_CHARS = width(rate_counters.c.key)
COUNTER_KEEP_SECONDS = 24 * 3600  # a rate counter idle this long counts nothing any more


class State:
    """Everything the bot remembers, behind small methods."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.inbox = Inbox(self.engine)
        self.outbox = Outbox(self.engine)  # announced articles and the pushes they make
        self.ledger = Ledger(self.engine)  # what the news fetcher has seen, and its lock

    def _ignore(self, table: sa.Table, index: list[str]):
        return insert_ignore(self.engine, table, index)

    def migrate(self) -> None:
        migrate(self.engine)

    def record_answer(self, chat_id: int, user_id: int | None, answer_json: dict[str, Any],
                      quotes: list[dict[str, Any]], index_version: str | None,
                      update_id: int | None = None) -> int | None:
        """Store an answer; its id, or None when the asking update is no longer in the inbox
        (its user ran /forget while it was being answered: nothing of it is kept)."""
        with self.engine.begin() as conn:
            if update_id is not None:
                asked = sa.select(inbox.c.update_id).where(
                    inbox.c.bot_id == self.inbox.bot_id, inbox.c.update_id == update_id)
                if self.engine.dialect.name == "postgresql":
                    asked = asked.with_for_update()  # /forget waits for this answer, then goes
                if conn.execute(asked).first() is None:
                    return None
            # Its time is taken now, after any wait for /forget, as the row is written.
            record = StoredAnswer(
                id=0, chat_id=chat_id, user_id=user_id, question=answer_json["question"],
                abstained=bool(answer_json["abstained"]), quotes=list(quotes),
                suggestions=answer_json.get("suggestions", []),
                latency_ms=float(answer_json.get("latency_ms", 0.0)),
                index_version=clip(index_version, VERSION_CHARS), created_at=now())
            result = conn.execute(answers.insert().values(**record.to_row()))
            key = result.inserted_primary_key
            assert key is not None, "an insert has a primary key"
            return int(key[0])

    def get_answer(self, answer_id: int) -> StoredAnswer | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(answers).where(answers.c.id == answer_id)).mappings()
            found = row.first()
        return StoredAnswer.from_row(found) if found is not None else None

    def last_answer(self, chat_id: int, user_id: int, since: dt.datetime,
                    thread_id: int = 0) -> StoredAnswer | None:
        """The user's latest answer in a chat (not an abstention) given after `since` and after
        the chat's last /new: what a follow-up there leans on; None when there is none."""
        reset = sa.select(conversations.c.reset_at).where(
            conversations.c.chat_id == chat_id, conversations.c.thread_id == thread_id,
            conversations.c.reset_at >= answers.c.created_at)
        query = sa.select(answers.c.id).where(
            answers.c.chat_id == chat_id, answers.c.user_id == user_id,
            answers.c.abstained.is_(False), answers.c.created_at > since,
            ~reset.exists()).order_by(answers.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return self.get_answer(int(found)) if found is not None else None

    def new_conversation(self, chat_id: int, thread_id: int = 0) -> None:
        """/new: no question from now on follows up an answer given before."""
        with self.engine.begin() as conn:
            conn.execute(conversations.delete().where(conversations.c.chat_id == chat_id,
                                                      conversations.c.thread_id == thread_id))
            conn.execute(conversations.insert().values(chat_id=chat_id, thread_id=thread_id,
                                                       reset_at=now()))

    def record_answer_messages(self, chat_id: int, message_ids: list[int],
                               answer_id: int) -> None:
        """The messages that show an answer (a reaction on one is feedback on the answer)."""
        if not message_ids:
            return
        with self.engine.begin() as conn:
            for message_id in message_ids:
                conn.execute(insert_ignore(self.engine, answer_messages,
                                           ["chat_id", "message_id"]).values(
                    chat_id=chat_id, message_id=message_id, answer_id=answer_id))

    def answer_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The id of the answer a bot message shows; None for any other message."""
        query = sa.select(answer_messages.c.answer_id).where(
            answer_messages.c.chat_id == chat_id, answer_messages.c.message_id == message_id)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return int(found) if found is not None else None

    def link_quote(self, link_id: str, article_id: str, start: int, end: int, text: str,
                   index_version: str | None) -> None:
        """Keep what a quote link (t.me/<bot>?start=q_<id>, the article page's `quote`) points
        at. Ids are stable: giving the same quote again only renews its time, so that `prune`
        keeps every link an answer still kept gave (it was given when the answer was)."""
        with self.engine.begin() as conn:
            renewed = conn.execute(quote_links.update().where(quote_links.c.id == link_id).values(
                created_at=now())).rowcount
            if not renewed:
                conn.execute(insert_ignore(self.engine, quote_links, ["id"]).values(
                    id=link_id, article_id=article_id, start=start, end=end, text=text,
                    index_version=clip(index_version, VERSION_CHARS), created_at=now()))

    def quote_link(self, link_id: str) -> dict[str, Any] | None:
        """What a quote link points at: article id, start, end, text, index version."""
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(quote_links).where(
                quote_links.c.id == link_id)).mappings().first()
        return dict(found) if found is not None else None

    def record_membership(self, chat_id: int, status: str, user_id: int | None) -> None:
        """The bot was added to a chat, made admin, removed or left (`status` as Telegram
        says it); a chat it left is also forgotten (`forget_chat`)."""
        with self.engine.begin() as conn:
            conn.execute(memberships.delete().where(memberships.c.chat_id == chat_id))
            conn.execute(memberships.insert().values(chat_id=chat_id, status=status[:20],
                                                     changed_by=user_id, changed_at=now()))

    def membership(self, chat_id: int) -> str | None:
        """The bot's last recorded status in a chat ("member", "left"...), None if never."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(memberships.c.status).where(
                memberships.c.chat_id == chat_id)).scalar()

    def chat_sources(self, chat_id: int) -> list[str]:
        """The publishers a chat chose with /sources (none: all)."""
        query = sa.select(chat_sources.c.source).where(
            chat_sources.c.chat_id == chat_id).order_by(chat_sources.c.source)
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def set_chat_sources(self, chat_id: int, names: list[str], user_id: int | None) -> None:
        """Replace a chat's chosen publishers (an empty list: all of them)."""
        limit = width(chat_sources.c.source)
        with self.engine.begin() as conn:
            conn.execute(chat_sources.delete().where(chat_sources.c.chat_id == chat_id))
            kept = [name for name in dict.fromkeys(names) if len(name) <= limit]
            if kept:
                conn.execute(chat_sources.insert(), [
                    {"chat_id": chat_id, "source": name, "created_by": user_id,
                     "created_at": now()} for name in kept])

    def record_feedback(self, answer_id: int, user_id: int, verdict: int) -> None:
        """One verdict per user and answer; pressing again replaces it."""
        with self.engine.begin() as conn:
            conn.execute(feedback.delete().where(feedback.c.answer_id == answer_id,
                                                 feedback.c.user_id == user_id))
            conn.execute(feedback.insert().values(answer_id=answer_id, user_id=user_id,
                                                  verdict=verdict, created_at=now()))

    def feedback_for(self, answer_id: int) -> list[tuple[int, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(feedback.c.user_id, feedback.c.verdict).where(
                feedback.c.answer_id == answer_id))
            return [(r[0], r[1]) for r in rows]

    # ---- subscriptions and follows ---------------------------------------------------------
    def subscribe(self, chat_id: int, user_id: int | None) -> bool:
        """True when the chat was not subscribed before."""
        with self.engine.begin() as conn:
            result = conn.execute(self._ignore(subscriptions, ["chat_id"]).values(
                chat_id=chat_id, created_by=user_id, created_at=now()))
            return result.first() is not None

    def unsubscribe(self, chat_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(subscriptions.delete().where(
                subscriptions.c.chat_id == chat_id)).rowcount > 0

    def is_subscribed(self, chat_id: int) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(subscriptions.c.chat_id).where(
                subscriptions.c.chat_id == chat_id)).first() is not None

    def subscribers(self) -> list[int]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(subscriptions.c.chat_id))]

    def follow(self, chat_id: int, topic: str, user_id: int | None,
               limit: int | None = None) -> Literal["new", "known", "full"]:
        """Follow a topic: `new`, `known` (followed already, in any letter case: Unicode case
        folding, as `unfollow` matches it), or `full` when the chat follows `limit` topics
        already (then nothing changes)."""
        if len(topic) > TOPIC_CHARS:
            raise ValueError(f"a topic has at most {TOPIC_CHARS} characters")
        # Letter case is compared in Python: SQLite's lower() folds ASCII letters only.
        with self.engine.begin() as conn:
            followed = [r[0] for r in conn.execute(sa.select(follows.c.topic).where(
                follows.c.chat_id == chat_id))]  # a few: MAX_FOLLOWS_PER_CHAT bounds them
            if any(t.casefold() == topic.casefold() for t in followed):
                return "known"
            if limit is not None and len(followed) >= limit:
                return "full"
            result = conn.execute(self._ignore(follows, ["chat_id", "topic"]).values(
                chat_id=chat_id, topic=topic, created_by=user_id, created_at=now()))
            # Ignored when the same chat's same topic got in first meanwhile (another replica).
            return "new" if result.first() is not None else "known"

    def unfollow(self, chat_id: int, topic: str) -> bool:
        """Stop following a topic, in any letter case (Unicode case folding)."""
        with self.engine.begin() as conn:
            gone = [r[0] for r in conn.execute(sa.select(follows.c.id, follows.c.topic).where(
                follows.c.chat_id == chat_id)) if r[1].casefold() == topic.casefold()]
            if gone:
                conn.execute(follows.delete().where(follows.c.id.in_(gone)))
            return bool(gone)

    def following(self, chat_id: int | None = None) -> list[tuple[int, str]]:
        query = sa.select(follows.c.chat_id, follows.c.topic).order_by(follows.c.id)
        if chat_id is not None:
            query = query.where(follows.c.chat_id == chat_id)
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(query)]

    def forget_chat(self, chat_id: int) -> None:
        """A chat that blocked the bot or was deleted: stop everything for it."""
        with self.engine.begin() as conn:
            conn.execute(subscriptions.delete().where(subscriptions.c.chat_id == chat_id))
            conn.execute(follows.delete().where(follows.c.chat_id == chat_id))
            conn.execute(conversations.delete().where(conversations.c.chat_id == chat_id))
            conn.execute(chat_sources.delete().where(chat_sources.c.chat_id == chat_id))
            conn.execute(outbox.update().where(outbox.c.chat_id == chat_id,
                                               outbox.c.status == "pending").values(
                status="dropped"))

    # ---- rate limits and privacy --------------------------------------------------------
    def count_event(self, key: str, window_seconds: int = 60) -> int:
        """Count one event for `key`; returns how many it makes in its window, which starts
        at the first event and lasts `window_seconds`. Increment-then-read in one
        transaction, so concurrent callers (threads or replicas) never share a count."""
        with self.engine.begin() as conn:
            return self._count(conn, key, window_seconds)

    def count_events(self, limits: list[tuple[str, int]], window_seconds: int = 60) -> int | None:
        """Count one event for each (key, limit) in turn, in one transaction, stopping at the
        first key whose count passes its limit (the keys after it are not counted); by how
        much it passes, or None. Callers list the keys in one order (the sender's, then the
        chat's), so two transactions never wait on each other's counters."""
        with self.engine.begin() as conn:
            for key, limit in limits:
                count = self._count(conn, key, window_seconds)
                if count > limit:
                    return count - limit
        return None

    def _count(self, conn: sa.Connection, key: str, window_seconds: int) -> int:
        """One event for `key` inside the transaction `conn`: its window restarted when it is
        over, then incremented (or created) and read."""
        stamp = int(now().timestamp())
        key = fit_key(key, RATE_KEY_CHARS)
        counter = rate_counters.c
        conn.execute(rate_counters.update().where(
            counter.key == key, counter.window_start <= stamp - window_seconds,
        ).values(window_start=stamp, count=0))
        row = conn.execute(rate_counters.update().where(counter.key == key).values(
            count=counter.count + 1).returning(counter.count)).first()
        if row is not None:
            return int(row[0])
        inserted = conn.execute(self._ignore(rate_counters, ["key"]).values(
            key=key, window_start=stamp, count=1)).first()
        if inserted is not None:
            return 1
        # Another transaction created the counter meanwhile: count on it.
        row = conn.execute(rate_counters.update().where(counter.key == key).values(
            count=counter.count + 1).returning(counter.count)).first()
        assert row is not None, "the counter exists: inserting it conflicted"
        return int(row[0])

    def forget_user(self, user_id: int) -> int:
        """Delete everything stored about a user: questions, answers, feedback, the updates
        they sent (texts, button presses), their private chat's subscriptions, follows and
        queued or sent pushes; their name goes from the follows and subscriptions they made
        elsewhere. Returns how many rows went. The rate counter stays (a count and a time, no
        text): deleting it would lift the user's own limit."""
        with self.engine.begin() as conn:
            # First the updates they sent (pending ones too, this /forget among them: their
            # handlers run on, unharmed): an answer being recorded holds its update's row, so
            # this waits for it, and the answer is deleted below; one recorded later finds no
            # update and is not stored.
            gone = conn.execute(inbox.delete().where(inbox.c.user_id == user_id)).rowcount
            gone += conn.execute(feedback.delete().where(feedback.c.user_id == user_id)).rowcount
            mine = sa.select(answers.c.id).where(answers.c.user_id == user_id)
            gone += conn.execute(feedback.delete().where(feedback.c.answer_id.in_(mine))).rowcount
            gone += conn.execute(answer_messages.delete().where(
                answer_messages.c.answer_id.in_(mine))).rowcount
            gone += conn.execute(answers.delete().where(answers.c.user_id == user_id)).rowcount
            gone += conn.execute(subscriptions.delete().where(
                subscriptions.c.chat_id == user_id)).rowcount
            gone += conn.execute(follows.delete().where(follows.c.chat_id == user_id)).rowcount
            gone += conn.execute(outbox.delete().where(outbox.c.chat_id == user_id)).rowcount
            gone += conn.execute(conversations.delete().where(
                conversations.c.chat_id == user_id)).rowcount
            gone += conn.execute(chat_sources.delete().where(
                chat_sources.c.chat_id == user_id)).rowcount
            conn.execute(chat_sources.update().where(
                chat_sources.c.created_by == user_id).values(created_by=None))
            for table in (follows, subscriptions):
                conn.execute(table.update().where(table.c.created_by == user_id).values(
                    created_by=None))
            conn.execute(memberships.update().where(memberships.c.changed_by == user_id).values(
                changed_by=None))
        return gone

    def prune(self, days: int) -> int:
        """Delete what is older than `days`: questions, answers, feedback, stored updates,
        pushes sent, failed or dropped, quote links last given before (none an answer still
        kept gave: `link_quote` renews a link's time with each answer); and rate counters idle
        for a day."""
        cutoff = now() - dt.timedelta(days=days)
        with self.engine.begin() as conn:
            # What refers to an old answer goes first (its feedback, the messages that showed
            # it), then the answers themselves.
            old = sa.select(answers.c.id).where(answers.c.created_at < cutoff)
            gone = conn.execute(feedback.delete().where(feedback.c.answer_id.in_(old))).rowcount
            gone += conn.execute(answer_messages.delete().where(
                answer_messages.c.answer_id.in_(old))).rowcount
            gone += conn.execute(answers.delete().where(answers.c.created_at < cutoff)).rowcount
            gone += conn.execute(inbox.delete().where(inbox.c.received_at < cutoff)).rowcount
            gone += conn.execute(conversations.delete().where(
                conversations.c.reset_at < cutoff)).rowcount
            gone += conn.execute(quote_links.delete().where(
                quote_links.c.created_at < cutoff)).rowcount
            # A pending push stays whatever its age: it is still to be sent.
            gone += conn.execute(outbox.delete().where(
                outbox.c.status != "pending",
                sa.func.coalesce(outbox.c.sent_at, outbox.c.created_at) < cutoff)).rowcount
            idle = int(now().timestamp()) - COUNTER_KEEP_SECONDS
            gone += conn.execute(rate_counters.delete().where(
                rate_counters.c.window_start < idle)).rowcount
        return gone

    # ---- statistics ---------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(answers)).scalar() or 0
            abstained = conn.execute(sa.select(sa.func.count()).select_from(answers).where(
                answers.c.abstained.is_(True))).scalar() or 0
            # The newest 5,000 answers: the percentiles describe the bot as it runs now.
            latencies = [r[0] for r in conn.execute(
                sa.select(answers.c.latency_ms).order_by(answers.c.id.desc()).limit(5000))]
            up = conn.execute(sa.select(sa.func.count()).select_from(feedback).where(
                feedback.c.verdict > 0)).scalar() or 0
            down = conn.execute(sa.select(sa.func.count()).select_from(feedback).where(
                feedback.c.verdict < 0)).scalar() or 0
            subs = conn.execute(sa.select(sa.func.count()).select_from(subscriptions)).scalar()
            following = sa.select(sa.func.count(sa.distinct(follows.c.chat_id)))
            followers = conn.execute(following).scalar()
        latencies.sort()

        def pct(q: float) -> float:
            if not latencies:
                return 0.0
            return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

        return {"questions": total, "abstained": abstained, "p50_ms": pct(0.5),
                "p95_ms": pct(0.95), "thumbs_up": up, "thumbs_down": down,
                "subscribers": subs or 0, "followers": followers or 0}

    def ping(self) -> bool:
        """Whether the database answers (the health check)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def close(self) -> None:
        self.engine.dispose()

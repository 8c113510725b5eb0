"""The user's side of the conversation: messages, button presses and inline queries that
tests (or a person at the console) send, and waiting for what the bot answers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.support.fake_bot_api.state import Chat
from tests.support.fake_bot_api.text import plain_text, utf16_length
from tests.support.fake_bot_api.updates import UpdateQueue

ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                   "username": "GroupAnonymousBot"}
STICKER = {"file_id": "STICKER", "file_unique_id": "S1", "type": "regular", "width": 512,
           "height": 512, "is_animated": False, "is_video": False}


def _user(user_id: int, first_name: str | None = None,
          language_code: str | None = None) -> dict[str, Any]:
    """A user as Telegram sends it; `language_code` (an IETF tag such as "ar" or "pt-br",
    optional) is the language of the user's Telegram app."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False,
                            "first_name": first_name or f"User{user_id}"}
    if language_code is not None:
        user["language_code"] = language_code
    return user


class UserSide(UpdateQueue):
    """What the user does, as updates queued for the bot."""

    def add_chat(self, chat_id: int, type_: str = "private", title: str | None = None,
                 is_forum: bool = False, admins: tuple[int, ...] = ()) -> Chat:
        with self.lock:
            chat = self.chats.get(chat_id) or Chat(chat_id, type_, title, is_forum)
            chat.members.update({a: "administrator" for a in admins})
            self.chats[chat_id] = chat
            return chat

    def user_message(self, chat_id: int, text: str | None = None, user_id: int = 42,
                     reply_to: dict[str, Any] | None = None, thread_id: int | None = None,
                     sticker: bool = False, entities: list[dict[str, Any]] | None = None,
                     sender_chat: bool = False, first_name: str | None = None,
                     username: str | None = None, via: str | None = None,
                     language_code: str | None = None) -> dict[str, Any]:
        """The user sends a message; returns the message as the bot will receive it."""
        with self.lock:
            chat = self.chats.get(chat_id) or self.add_chat(chat_id)
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "date": int(time.time()),
                "chat": self._chat_json(chat),
                "from": _user(user_id, first_name, language_code),
            }
            if username:
                message["from"]["username"] = username
            if sender_chat:
                message["sender_chat"] = self._chat_json(chat)
                message["from"] = dict(ANONYMOUS_ADMIN)
            message.update(_content(text, sticker, entities))
            if reply_to is not None:
                message["reply_to_message"] = reply_to
            if thread_id is not None:
                message["message_thread_id"] = thread_id
                message["is_topic_message"] = True
            self._push({"message": message}, via)
            return message

    def press_button(self, message: dict[str, Any] | None, data: str, user_id: int = 42,
                     inline_message_id: str | None = None,
                     language_code: str | None = None) -> str:
        """The user presses a button of `message` (any data: a client can send what it likes),
        or of an inline message (no chat then) when `message` is None."""
        with self.lock:
            callback_id = f"cb{next(self.update_ids)}"
            query: dict[str, Any] = {
                "id": callback_id, "chat_instance": "ci", "data": data,
                "from": _user(user_id, language_code=language_code)}
            if message is not None:
                query["message"] = message
            else:
                query["inline_message_id"] = inline_message_id or f"inline-{callback_id}"
            self.callback_ids.add(callback_id)
            self._push({"callback_query": query})
            return callback_id

    def inline_query(self, query: str, user_id: int = 42,
                     language_code: str | None = None) -> str:
        """The user types `@bot query` in any chat: an update that carries no chat."""
        with self.lock:
            query_id = f"iq{next(self.update_ids)}"
            self.inline_queries.add(query_id)
            self.inline_asked[query_id] = time.monotonic()
            self._push({"inline_query": {
                "id": query_id, "query": query, "offset": "",
                "from": _user(user_id, language_code=language_code)}})
            return query_id

    def inline_answer(self, query_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The bot's answerInlineQuery for a query."""
        def answered() -> list[dict[str, Any]]:
            return [a for a in self.inline_answers if a.get("inline_query_id") == query_id]
        return self._wait(answered, timeout, f"inline query {query_id} not answered")[0]

    def choose_inline_result(self, query_id: str, result_id: str, chat_id: int,
                             user_id: int = 42) -> dict[str, Any]:
        """The user picks a result: Telegram posts its message in the chat as the user's,
        "via @bot" (the bot is not told unless inline feedback is on: then a
        chosen_inline_result update). Returns the posted message."""
        with self.lock:
            answer = next(a for a in self.inline_answers if a.get("inline_query_id") == query_id)
            result = next(r for r in answer["results"] if r["id"] == result_id)
            content = result["input_message_content"]
            chat = self.chats.get(chat_id) or self.add_chat(chat_id)
            posted: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id), "date": int(time.time()),
                "chat": self._chat_json(chat), "from": _user(user_id),
                "via_bot": {"id": 1000, "is_bot": True, "first_name": "Verbatim",
                            "username": self.username},
                "text": plain_text(content["message_text"], content.get("parse_mode")),
                "html": content["message_text"]}
            if result.get("reply_markup"):
                posted["reply_markup"] = result["reply_markup"]
            self.posted.append(posted)
            query = next((u["inline_query"] for u in self.all_updates if "inline_query" in u
                          and u["inline_query"]["id"] == query_id), None)
            self._push({"chosen_inline_result": {
                "result_id": result_id, "from": _user(user_id),
                "query": query["query"] if query else "",
                "inline_message_id": f"inline-{query_id}-{result_id}"}})
            self.lock.notify_all()
            return posted

    def guest_message(self, chat_id: int, text: str, user_id: int = 42,
                      reply_to: dict[str, Any] | None = None,
                      language_code: str | None = None) -> str:
        """Bot API 10.0 guest mode: the user mentions the bot in a chat it is not a member
        of; the bot gets a `guest_message` with a `guest_query_id` to answer. Returns it."""
        with self.lock:
            chat = self.chats.get(chat_id) or Chat(chat_id, "supergroup", "Elsewhere")
            query_id = f"gq{next(self.update_ids)}"
            self.guest_queries.add(query_id)
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id), "date": int(time.time()),
                "chat": self._chat_json(chat), "from": _user(user_id, None, language_code),
                "text": text, "guest_query_id": query_id}
            mention = f"@{self.username}"
            if mention in text:
                message["entities"] = [{"type": "mention", "offset": utf16_length(
                    text[:text.index(mention)]), "length": utf16_length(mention)}]
            if reply_to is not None:
                message["reply_to_message"] = reply_to
            self._push({"guest_message": message})
            return query_id

    def guest_answer(self, query_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The bot's answerGuestQuery for a guest message."""
        def answered() -> list[dict[str, Any]]:
            return [a for a in self.guest_answers if a.get("guest_query_id") == query_id]
        return self._wait(answered, timeout, f"guest query {query_id} not answered")[0]

    def react(self, chat_id: int, message_id: int, emoji: str | None, user_id: int = 42,
              old: str | None = None) -> None:
        """The user sets (or with None removes) a reaction on a message."""
        with self.lock:
            chat = self.chats[chat_id]
            self._push({"message_reaction": {
                "chat": self._chat_json(chat), "message_id": message_id, "user": _user(user_id),
                "date": int(time.time()),
                "old_reaction": [{"type": "emoji", "emoji": old}] if old else [],
                "new_reaction": [{"type": "emoji", "emoji": emoji}] if emoji else []}})

    def bot_membership(self, chat_id: int, status: str, by_user: int = 42,
                       old: str = "left") -> None:
        """The bot is added to a group ("member", "administrator") or removed ("left",
        "kicked") by a user: a my_chat_member update."""
        with self.lock:
            chat = self.chats.get(chat_id) or self.add_chat(chat_id, "supergroup", "Group")
            bot = {"id": 1000, "is_bot": True, "first_name": "Verbatim",
                   "username": self.username}

            def member(value: str) -> dict[str, Any]:
                found: dict[str, Any] = {"user": bot, "status": value}
                if value == "administrator":
                    found.update(can_be_edited=False, is_anonymous=False, can_manage_chat=True,
                                 can_delete_messages=True, can_manage_video_chats=True,
                                 can_restrict_members=True, can_promote_members=False,
                                 can_change_info=True, can_invite_users=True,
                                 can_post_stories=False, can_edit_stories=False,
                                 can_delete_stories=False)
                if value == "kicked":
                    found["until_date"] = 0
                return found
            self._push({"my_chat_member": {
                "chat": self._chat_json(chat), "from": _user(by_user), "date": int(time.time()),
                "old_chat_member": member(old), "new_chat_member": member(status)}})

    def fail_next(self, method: str, code: int, parameters: dict[str, Any] | None = None,
                  description: str | None = None) -> None:
        """Make the next call of `method` fail with this HTTP code (429 with retry_after...)."""
        with self.lock:
            self.failures.append((method, code, parameters, description))

    def answer_to(self, callback_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for the bot's answerCallbackQuery for this press."""
        def answered() -> list[dict[str, Any]]:
            return [a for a in self.callback_answers if a.get("callback_query_id") == callback_id]

        found = self._wait(answered, timeout, f"callback query {callback_id} was not answered")
        return found[0]

    def wait_for(self, predicate: Callable[[dict[str, Any]], Any],
                 timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until some sent messages match; returns all that do."""
        return self._wait(lambda: [m for m in self.sent if predicate(m)], timeout,
                          "no matching message from the bot")

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.sent if m["chat"]["id"] == chat_id]

    def _wait(self, found: Callable[[], list[dict[str, Any]]], timeout: float,
              failure: str) -> list[dict[str, Any]]:
        """Wait under the lock until `found()` is not empty; TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                result = found()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(failure)
                self.lock.wait(remaining)


def _content(text: str | None, sticker: bool,
             entities: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A sticker, or the text with its entities (a leading /command gets its entity)."""
    if sticker:
        return {"sticker": dict(STICKER)}
    content: dict[str, Any] = {"text": text or ""}
    ents = list(entities or [])
    if text and text.startswith("/") and not ents:
        command = text.split()[0]
        ents.append({"type": "bot_command", "offset": 0, "length": utf16_length(command)})
    if ents:
        content["entities"] = ents
    return content

"""The Bot API methods the bot calls, answered as Telegram answers them, with 400s for what
Telegram refuses (HTML that does not parse, text over 4,096 UTF-16 units, unknown chats)."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.support.fake_bot_api.errors import BadRequest
from tests.support.fake_bot_api.state import BOT_ID, Chat, TelegramState
from tests.support.fake_bot_api.text import (
    CALLBACK_TEXT_LIMIT,
    MESSAGE_LIMIT,
    plain_text,
    utf16_length,
)

LANGUAGE_CODE = re.compile(r"[a-z]{2}")  # setMyCommands takes ISO 639-1 codes only ("zh")
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup of the message are exactly the same as a current content and reply "
                "markup of the message")
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
MESSAGE_FIELDS = ("message_id", "date", "chat", "from", "text", "reply_markup")
ADMIN_RIGHTS = dict(can_be_edited=False, is_anonymous=False, can_manage_chat=True,
                    can_delete_messages=True, can_manage_video_chats=True,
                    can_restrict_members=True, can_promote_members=False, can_change_info=True,
                    can_invite_users=True, can_post_stories=False, can_edit_stories=False,
                    can_delete_stories=False)


DESCRIPTION_LIMIT = 512  # characters of setMyDescription
INLINE_RESULTS_LIMIT = 50  # results of one answerInlineQuery
INLINE_ANSWER_SECONDS = 10.0  # an inline query must be answered this soon
CALLBACK_DATA_LIMIT = 64  # bytes of a button's callback_data
COPY_TEXT_LIMIT = 256  # characters of a CopyTextButton's text
SCOPES = {"default", "all_private_chats", "all_group_chats", "all_chat_administrators",
          "chat", "chat_administrators", "chat_member"}
BUTTON_KINDS = ("url", "callback_data", "web_app", "login_url", "switch_inline_query",
                "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                "copy_text", "callback_game", "pay")


def check_markup(markup: Any, chat_type: str | None = None) -> None:
    """Refuse an inline keyboard as Telegram does: each button a text and exactly one action,
    callback data of 1-64 bytes, copy text of 1-256 characters, http(s) or tg:// URLs, Mini
    App (web_app) buttons only with https and only in private chats."""
    if not markup:
        return
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows or ():  # None: a reply keyboard or a removal, not used by the bot
        for button in row:
            refusal = _button_refusal(button, chat_type)
            if refusal:
                raise BadRequest(f"Bad Request: {refusal}")


def _button_refusal(button: dict[str, Any], chat_type: str | None) -> str | None:
    if not str(button.get("text") or "").strip():
        return "text buttons are unallowed in the inline keyboard"
    if len([k for k in BUTTON_KINDS if k in button]) != 1:
        return ("can't parse inline keyboard button: exactly one of the optional fields must "
                "be used")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
        return "BUTTON_DATA_INVALID"
    copy = button.get("copy_text")
    if copy is not None and not 1 <= len((copy or {}).get("text") or "") <= COPY_TEXT_LIMIT:
        return "BUTTON_COPY_TEXT_INVALID"
    url = button.get("url")
    if url is not None and not re.match(r"(https?|tg)://[^\s]+$", str(url)):
        return f"inline keyboard button URL '{url}' is invalid: wrong HTTP URL"
    query = button.get("switch_inline_query")
    if query is not None and len(str(query)) > 256:
        return "BUTTON_SWITCH_INLINE_INVALID"
    web_app = button.get("web_app")
    if web_app is not None and chat_type != "private":
        return "BUTTON_TYPE_INVALID"
    if web_app is not None and not str((web_app or {}).get("url") or "").startswith("https://"):
        return "BUTTON_URL_INVALID"
    return None


def _language_code(params: dict[str, Any]) -> str:
    """The `language_code` of a setMyCommands / setMyDescription call, "" for none."""
    language = params.get("language_code") or ""
    if language and not (isinstance(language, str) and LANGUAGE_CODE.fullmatch(language)):
        raise BadRequest("Bad Request: invalid language code specified")
    return language


def _result_refusal(result: dict[str, Any]) -> str | None:
    """What Telegram says of an inline result it refuses (None when it takes it)."""
    if result.get("type") != "article":
        return None  # the bot sends articles only
    if not str(result.get("title") or "").strip():
        return "Bad Request: RESULT_TITLE_EMPTY"
    content = result.get("input_message_content") or {}
    text = content.get("message_text") or ""
    visible = plain_text(text, content.get("parse_mode"))  # refuses HTML that does not parse
    if not visible.strip():
        return "Bad Request: MESSAGE_EMPTY"
    if utf16_length(visible) > MESSAGE_LIMIT:
        return "Bad Request: MESSAGE_TOO_LONG"
    try:
        check_markup(result.get("reply_markup"))
    except BadRequest as err:
        return err.description
    return None


class BotMethods(TelegramState):
    """`call(method, params)` runs `api_<method>`; each is one Bot API method."""

    def call(self, method: str, params: dict[str, Any]) -> Any:
        with self.lock:
            self.calls.append((method, params))
            for i, (name, code, parameters, description) in enumerate(self.failures):
                if name == method:
                    del self.failures[i]
                    description = description or ("Too Many Requests: retry after"
                                                   if code == 429 else "Internal Server Error")
                    raise BadRequest(description, code, parameters)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            raise BadRequest(f"Not Found: method {method} not found", 404)
        return handler(params)

    def _chat_for(self, params: dict[str, Any]) -> Chat:
        chat_id = params.get("chat_id")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise BadRequest("Bad Request: chat not found")
        return chat

    def _sent_record(self, chat: Chat, message_id: Any) -> dict[str, Any]:
        for record in self.sent:
            if (record["chat"]["id"] == chat.id and record["message_id"] == message_id
                    and not record.get("deleted")):
                return record
        raise BadRequest("Bad Request: message to edit not found")

    def delete_by_user(self, chat_id: int, message_id: int) -> None:
        """The user deletes one of the bot's messages (for both sides, as in private chats):
        it can no longer be edited or replied to."""
        with self.lock:
            self._sent_record(self.chats[chat_id], message_id)["deleted"] = True

    def api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Verbatim", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text") or ""
        visible = plain_text(text, params.get("parse_mode"))
        if not visible.strip():
            raise BadRequest("Bad Request: message text is empty")
        if utf16_length(visible) > MESSAGE_LIMIT:
            raise BadRequest("Bad Request: message is too long")
        with self.lock:
            chat = self._chat_for(params)
            check_markup(params.get("reply_markup"), chat.type)
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat.id), "date": int(time.time()),
                "chat": self._chat_json(chat),
                "from": self.api_getMe({}), "text": visible,
            }
            reply = params.get("reply_parameters") or {}
            reply_to = reply.get("message_id") or params.get("reply_to_message_id")
            if params.get("message_thread_id"):
                message["message_thread_id"] = params["message_thread_id"]
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            record = {**message, "html": text, "parse_mode": params.get("parse_mode"),
                      "reply_to": reply_to,
                      "link_preview_options": params.get("link_preview_options")}
            self.sent.append(record)
            self.lock.notify_all()
            return message

    def api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text") or ""
        visible = plain_text(text, params.get("parse_mode"))
        if utf16_length(visible) > MESSAGE_LIMIT:
            raise BadRequest("Bad Request: message is too long")
        with self.lock:
            record = self._sent_record(self._chat_for(params), params.get("message_id"))
            if (text == record["html"] and params.get("parse_mode") == record["parse_mode"]
                    and params.get("reply_markup", record.get("reply_markup"))
                    == record.get("reply_markup")):
                raise BadRequest(NOT_MODIFIED)
            record.update(text=visible, html=text, parse_mode=params.get("parse_mode"),
                          edited=True)
            if "reply_markup" in params:
                record["reply_markup"] = params["reply_markup"]
            self.lock.notify_all()
            return {k: v for k, v in record.items() if k in MESSAGE_FIELDS}

    def api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        check_markup(params.get("reply_markup"), self._chat_for(params).type)
        with self.lock:
            record = self._sent_record(self._chat_for(params), params.get("message_id"))
            record["reply_markup"] = params.get("reply_markup")
            return {k: v for k, v in record.items() if k in MESSAGE_FIELDS}

    def api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat_for(params)
        return True

    def api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        """Each press is answered at most once, with at most 200 characters."""
        too_long = len(params.get("text") or "") > CALLBACK_TEXT_LIMIT
        return self._answer_query(self.callback_ids, params.get("callback_query_id"),
                                  self.callback_answers, params,
                                  "Bad Request: MESSAGE_TOO_LONG" if too_long else None)

    def api_answerInlineQuery(self, params: dict[str, Any]) -> bool:
        """At most 50 results with unique ids of 1-64 bytes; an article needs a title and a
        message of at most 4,096 characters that parses; answered within 10 s of the query."""
        results = params.get("results")
        refusal = None
        if not isinstance(results, list):
            refusal = "Bad Request: can't parse inline query results JSON object"
        elif len(results) > INLINE_RESULTS_LIMIT:
            refusal = "Bad Request: RESULTS_TOO_MUCH"
        else:
            ids = [str(r.get("id") or "") for r in results]
            if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode()) <= 64 for i in ids):
                refusal = "Bad Request: RESULT_ID_INVALID"
            for result in results:
                refusal = refusal or _result_refusal(result)
        asked = self.inline_asked.get(str(params.get("inline_query_id")))
        if asked is not None and time.monotonic() - asked > INLINE_ANSWER_SECONDS:
            refusal = QUERY_TOO_OLD
        return self._answer_query(
            self.inline_queries, params.get("inline_query_id"), self.inline_answers, params,
            refusal)

    def api_answerGuestQuery(self, params: dict[str, Any]) -> dict[str, Any]:
        """A guest message is answered once, with one inline result (Bot API 10.0)."""
        result = params.get("result")
        refusal = (_result_refusal(result) if isinstance(result, dict)
                   else "Bad Request: can't parse inline query result JSON object")
        self._answer_query(self.guest_queries, params.get("guest_query_id"),
                           self.guest_answers, params, refusal)
        return {"inline_message_id": f"guest-{params.get('guest_query_id')}"}

    def _answer_query(self, pending: set[str], query_id: Any, answers: list[dict[str, Any]],
                      params: dict[str, Any], refusal: str | None) -> bool:
        """A query (press or inline) is answered once: unknown or answered ids are refused,
        then `refusal` (what is wrong with the answer) if any."""
        with self.lock:
            if query_id not in pending:
                raise BadRequest(QUERY_TOO_OLD)
            if refusal:
                raise BadRequest(refusal)
            pending.discard(query_id)
            answers.append(params)
            self.lock.notify_all()
        return True

    def api_setMyCommands(self, params: dict[str, Any]) -> bool:
        """The menu for everyone, or for users of one `language_code` (two letters: Telegram
        refuses "zh-hans" or "pt-br" here), in one scope (private chats, groups...)."""
        commands = params.get("commands") or []
        if not isinstance(commands, list):
            raise BadRequest("Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise BadRequest("Bad Request: too many commands")
        language = _language_code(params)
        scope = (params.get("scope") or {}).get("type", "default")
        if scope not in SCOPES:
            raise BadRequest("Bad Request: can't parse BotCommandScope: unsupported type")
        with self.lock:
            if scope != "default":
                self.scoped_commands[(scope, language)] = commands
            elif language:
                self.localized_commands[language] = commands
            else:
                self.commands = commands
            self.lock.notify_all()
        return True

    def api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        language = _language_code(params)
        scope = (params.get("scope") or {}).get("type", "default")
        if scope != "default":
            return self.scoped_commands.get((scope, language), [])
        return self.localized_commands.get(language, []) if language else self.commands

    def api_setMyDescription(self, params: dict[str, Any]) -> bool:
        description = params.get("description") or ""
        if len(description) > DESCRIPTION_LIMIT:
            raise BadRequest("Bad Request: bot description is too long")
        self.descriptions[_language_code(params)] = description
        return True

    def api_setMyShortDescription(self, params: dict[str, Any]) -> bool:
        return True

    def api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        user_id = params.get("user_id")
        status = chat.members.get(user_id, "member") if isinstance(user_id, int) else "member"
        member: dict[str, Any] = {"status": status, "user": {
            "id": user_id, "is_bot": False, "first_name": f"User{user_id}"}}
        if status == "administrator":
            member.update(ADMIN_RIGHTS)
        return member

    def api_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        return {**self._chat_json(chat), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False}}

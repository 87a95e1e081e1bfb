"""What the fake Telegram server remembers, and the checks shared by its methods.

Subclasses add Bot API handlers named ``api_<snake_case_name>``; each answers
``<camelCaseName>`` (Bot API method names are case-insensitive), returns the
``result`` or raises TelegramError.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram_html import ParsedText
from tests.fakes.telegram_limits import RateLimiter
from tests.fakes.telegram_types import Call, SentMessage, TelegramError, bad_request
from tests.fakes.telegram_validate import (
    format_text,
    inline_markup,
)

__all__ = ["FailRule", "StoredFile", "TelegramState", "member_object"]

QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
# Telegram's MTProto error for a Stars payment the balance cannot cover; the Bot API server
# passes upper-case server errors through verbatim after "Bad Request: ".
BALANCE_TOO_LOW = "Bad Request: BALANCE_TOO_LOW"
NANOSTARS = 1_000_000_000  # in one Star
PAID_MESSAGE_NANOSTARS = NANOSTARS // 10  # 0.1 Star a paid broadcast message
ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_send_welcome_messages": False,
    "can_pin_messages": True,
    "can_manage_topics": False,
}


@dataclass
class StoredFile:
    file_id: str
    unique_id: str
    kind: str
    data: bytes
    filename: str | None
    mime_type: str | None
    path: str | None = None


@dataclass
class FailRule:
    method: str
    status: int
    description: str
    times: int
    retry_after: int | None
    chat_id: int | None
    raw_body: str | None = None  # answered as is (text/html), instead of a JSON error body


def member_object(user: dict[str, Any], status: str) -> dict[str, Any]:
    """A ChatMember of the given status, with every field aiogram requires."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "administrator":
        member.update(ADMIN_RIGHTS)
    elif status == "creator":
        member["is_anonymous"] = False
    elif status == "kicked":
        member["until_date"] = 0
    elif status not in ("member", "left"):
        raise ValueError(f"unsupported chat member status {status!r}")
    return member


class TelegramState:
    """Everything the fake server remembers."""

    def __init__(self, *, bot_id: int, username: str) -> None:
        self.bot_id = bot_id
        self.username = username
        self.clock: Callable[[], float] = time.monotonic
        self.calls: list[Call] = []
        self.deleted: list[tuple[int, int]] = []
        self.refuse_photo_urls = False
        self.strict_html = True
        self.accept_unknown_file_ids = False
        self.too_many_requests = 0
        self.paid_messages = 0  # messages sent with allow_paid_broadcast (and billed)
        self.star_balance_nano: int | None = None  # None: an endless balance
        self.token_revoked = False
        self._limiter: RateLimiter | None = None
        self._fail_rules: list[FailRule] = []
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._sent: list[SentMessage] = []
        self._sent_index: dict[tuple[int, int], SentMessage] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._admins: dict[int, set[int]] = {}
        self._bot_status: dict[int, str] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._queries: dict[str, bool] = {}  # callback/inline query id -> answered
        self._webhook_url = ""
        self._media_groups = 0
        self._handlers: dict[str, Callable[[Call], Any]] = {
            name[4:].replace("_", ""): getattr(self, name)
            for name in dir(self)
            if name.startswith("api_")
        }

    # ----------------------------------------------------------------- objects

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "AniLibria Test Bot",
            "username": self.username,
        }

    def user_object(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return self.bot_user()
        return dict(
            self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Test"}
        )

    def chat_object(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id > 0:
            user = self._users.get(chat_id, {})
            chat: dict[str, Any] = {
                "id": chat_id,
                "type": "private",
                "first_name": user.get("first_name", "Test"),
            }
            if user.get("username"):
                chat["username"] = user["username"]
            return chat
        return {"id": chat_id, "type": "supergroup", "title": f"Test chat {chat_id}"}

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    # ------------------------------------------------------------------ checks

    def _chat_id(self, params: dict[str, Any], key: str = "chat_id") -> int:
        value = params.get(key)
        if value is None or value == "":
            raise bad_request(f"{key} is empty")
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request("chat not found")
        return value

    def _guard(self, chat_id: int, *, sending: bool) -> None:
        """Migrated chats answer 400 to everything, blocked/kicked ones 403 to sends."""
        if chat_id in self._migrated:
            raise TelegramError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if not sending:
            return
        chat_type = self.chat_object(chat_id)["type"]
        if chat_id in self._blocked or self._bot_status.get(chat_id) == "kicked":
            if chat_type == "private":
                raise TelegramError(403, "Forbidden: bot was blocked by the user")
            raise TelegramError(403, f"Forbidden: bot was kicked from the {chat_type} chat")
        if self._bot_status.get(chat_id) == "left" and chat_type != "private":
            raise TelegramError(403, f"Forbidden: bot is not a member of the {chat_type} chat")

    def _throttle(self, chat_id: int, params: dict[str, Any] | None = None) -> None:
        """Flood control and, for a paid broadcast, the Stars it costs (the message goes out)."""
        paid = bool((params or {}).get("allow_paid_broadcast"))
        balance = self.star_balance_nano
        if paid and balance is not None and balance < PAID_MESSAGE_NANOSTARS:
            raise TelegramError(400, BALANCE_TOO_LOW)
        if self._limiter is not None:
            wait = self._limiter.acquire(chat_id, self.clock(), paid=paid)
            if wait is not None:
                self.too_many_requests += 1
                raise TelegramError(
                    429, f"Too Many Requests: retry after {wait}", {"retry_after": wait}
                )
        if paid:
            self.paid_messages += 1
            if self.star_balance_nano is not None:
                self.star_balance_nano -= PAID_MESSAGE_NANOSTARS

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id, allow = reply.get("message_id"), reply.get("allow_sending_without_reply")
            target_chat = reply.get("chat_id", chat_id)
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
            allow, target_chat = params.get("allow_sending_without_reply"), chat_id
        else:
            return None
        found = None
        if isinstance(target_chat, int) and isinstance(message_id, int):
            found = self._messages.get((target_chat, message_id))
        if found is None and not allow:
            raise bad_request("message to be replied not found")
        if found is None:
            return None
        return {key: value for key, value in found.items() if key != "reply_to_message"}

    def _text(self, params: dict[str, Any], key: str, *, caption: bool = False) -> ParsedText:
        entities_key = "caption_entities" if caption else "entities"
        return format_text(
            params.get(key),
            params.get("parse_mode"),
            params.get(entities_key),
            caption=caption,
            strict_html=self.strict_html,
        )

    # --------------------------------------------------------------- messages

    def _new_message(
        self, chat_id: int, params: dict[str, Any], reply: dict[str, Any] | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self.chat_object(chat_id),
            "from": self.bot_user(),
        }
        thread = params.get("message_thread_id")
        if isinstance(thread, int):
            message["message_thread_id"] = thread
            if self.chat_object(chat_id).get("is_forum"):
                message["is_topic_message"] = True
        if reply is not None:
            message["reply_to_message"] = reply
        if params.get("protect_content"):
            message["has_protected_content"] = True
        return message

    def _set_text(self, message: dict[str, Any], key: str, parsed: ParsedText, markup: Any) -> None:
        entities_key = "caption_entities" if key == "caption" else "entities"
        for field_name in (key, entities_key):
            message.pop(field_name, None)
        if parsed.text:
            message[key] = parsed.text
        if parsed.entities:
            message[entities_key] = parsed.entities
        message.pop("reply_markup", None)
        if inline_markup(markup) is not None:
            message["reply_markup"] = markup

    def _store(
        self,
        call: Call,
        chat_id: int,
        message: dict[str, Any],
        raw: Any,
        parsed: ParsedText,
        *,
        files: dict[str, bytes] | None = None,
        media_group_id: str | None = None,
    ) -> SentMessage:
        params = call.params
        sent = SentMessage(
            chat_id=chat_id,
            message_id=message["message_id"],
            method=call.method,
            text=None if raw is None else str(raw),
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            message_thread_id=params.get("message_thread_id"),
            disable_notification=bool(params.get("disable_notification", False)),
            params=params,
            plain_text=parsed.text if raw is not None else None,
            entities=parsed.entities,
            message=message,
            files=files or {},
            media_group_id=media_group_id,
        )
        key = (chat_id, sent.message_id)
        self._messages[key] = message
        self._sent_index[key] = sent
        self._sent.append(sent)
        return sent

    # ---------------------------------------------------------------- queries

    def new_query_id(self) -> str:
        query_id = str(4_000_000_000_000_000_000 + len(self._queries) + 1)
        self._queries[query_id] = False
        return query_id

    def _answer_query(self, query_id: Any) -> None:
        if self._queries.get(str(query_id)) is not False:
            raise bad_request(QUERY_INVALID)
        self._queries[str(query_id)] = True

    def drop_pending_updates(self) -> None:  # overridden where updates are kept
        pass

    def pending_update_count(self) -> int:  # overridden where updates are kept
        return 0

"""Updates of the fake Telegram server: injection, and getUpdates long polling."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
import time
from typing import Any

from tests.fakes.telegram_methods import TelegramMethods
from tests.fakes.telegram_state import member_object
from tests.fakes.telegram_types import Call, TelegramError

__all__ = ["TelegramUpdates"]

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
DEFAULT_GROUP_USER = 500_100
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


def _update_type(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def bad_request_int() -> TelegramError:
    return TelegramError(400, "Bad Request: wrong parameter type in request")


class TelegramUpdates(TelegramMethods):
    """Keeps injected updates until a getUpdates offset confirms them."""

    def __init__(self, *, bot_id: int, username: str) -> None:
        super().__init__(bot_id=bot_id, username=username)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._closing = False

    def _notify(self) -> None:
        """Wake long polls and wait_for (thread-safe)."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop and not loop.is_closed():
            loop.call_soon_threadsafe(self._notify)
            return
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    # ------------------------------------------------------------- updates

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def drop_pending_updates(self) -> None:
        self._updates.clear()

    def pending_update_count(self) -> int:
        return len(self._updates)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        chosen = [
            update
            for update in self._updates
            if (allowed is None and _update_type(update) not in NOT_DEFAULT_UPDATES)
            or (allowed is not None and _update_type(update) in allowed)
        ]
        return copy.deepcopy(chosen[:limit])

    async def api_get_updates(self, call: Call) -> Any:
        if self._webhook_url:
            raise TelegramError(409, WEBHOOK_ACTIVE)
        params = call.params
        offset, limit, timeout = (
            params.get("offset", 0),
            params.get("limit", 100),
            params.get("timeout", 0),
        )
        if not all(isinstance(value, int) for value in (offset, limit, timeout)):
            raise bad_request_int()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(map(str, allowed)) or None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll, if any, now answers 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0, timeout)
        while True:
            if generation != self._poll_generation:
                raise TelegramError(409, CONFLICT)
            batch = self._deliverable(max(1, min(limit, 100)))
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return batch
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        self._updates.append(update)
        self._notify()
        return update

    def _remember_user(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def set_chat(
        self,
        chat_id: int,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> dict[str, Any]:
        """Declare a chat's type/title (otherwise: private if id > 0 else supergroup)."""
        chat = self.chat_object(chat_id)
        if chat_type is not None:
            chat["type"] = chat_type
        if chat["type"] == "private":
            chat.pop("title", None)
        else:
            chat.pop("first_name", None)
            chat["title"] = title or chat.get("title") or f"Test chat {chat_id}"
        if username:
            chat["username"] = username
        if is_forum and chat["type"] == "supergroup":
            chat["is_forum"] = True
        self._chats[chat_id] = chat
        return dict(chat)

    def message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "ru",
        message_thread_id: int | None = None,
        is_topic_message: bool = False,
        username: str | None = None,
        first_name: str = "Test",
        title: str | None = None,
    ) -> dict[str, Any]:
        """Inject a user's text message; a leading /command gets its bot_command entity."""
        if user_id is None:
            user_id = chat_id if chat_type == "private" else DEFAULT_GROUP_USER
        user = self._remember_user(
            user_id, first_name=first_name, username=username, language_code=language_code
        )
        known = self._chats.get(chat_id, {})
        chat = self.set_chat(
            chat_id,
            chat_type=chat_type,
            title=title,
            username=username if chat_type == "private" else None,
            is_forum=is_topic_message or bool(known.get("is_forum")),
        )
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
        }
        command = _COMMAND.match(text)
        if command is not None:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
        if is_topic_message:
            message["is_topic_message"] = True
        self._messages[(chat_id, message["message_id"])] = message
        return self._push({"message": copy.deepcopy(message)})

    def document(
        self,
        chat_id: int,
        data: bytes,
        filename: str,
        *,
        caption: str | None = None,
        mime_type: str | None = "application/json",
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "ru",
    ) -> dict[str, Any]:
        """Inject a user's file (the bot can getFile and download it); a caption that starts
        with a /command gets its bot_command entity, as Telegram does."""
        if user_id is None:
            user_id = chat_id if chat_type == "private" else DEFAULT_GROUP_USER
        user = self._remember_user(
            user_id, first_name="Test", username=None, language_code=language_code
        )
        chat = self.set_chat(chat_id, chat_type=chat_type)
        stored = self._new_file("document", data, filename, mime_type)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "document": self._media_object(stored, "document"),
        }
        if caption is not None:
            message["caption"] = caption
            command = _COMMAND.match(caption)
            if command is not None:
                message["caption_entities"] = [
                    {"type": "bot_command", "offset": 0, "length": command.end()}
                ]
        self._messages[(chat_id, message["message_id"])] = message
        return self._push({"message": copy.deepcopy(message)})

    def callback(
        self,
        chat_id: int,
        data: str,
        *,
        user_id: int | None = None,
        message_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "ru",
    ) -> dict[str, Any]:
        """Inject a press on an inline button of a message the bot sent (default: its last)."""
        if message_id is None:
            mine = [s for s in self._sent if s.chat_id == chat_id and not s.deleted]
            if not mine:
                raise LookupError(f"the bot has sent no message to chat {chat_id}")
            message_id = mine[-1].message_id
        if chat_id not in self._chats:
            self.set_chat(chat_id, chat_type=chat_type)
        if user_id is None:
            user_id = chat_id if chat_type == "private" else DEFAULT_GROUP_USER
        known = self._users.get(user_id, {})
        user = self._remember_user(
            user_id,
            first_name=known.get("first_name", "Test"),
            username=known.get("username"),
            language_code=language_code,
        )
        stored = self._messages.get((chat_id, message_id))
        # a message Telegram can no longer show arrives as InaccessibleMessage (date 0)
        message = stored or {"chat": self.chat_object(chat_id), "message_id": message_id, "date": 0}
        query = {
            "id": self.new_query_id(),
            "from": user,
            "message": copy.deepcopy(message),
            "chat_instance": str(abs(chat_id) * 7919 % 10**18),
            "data": data,
        }
        return self._push({"callback_query": query})

    def inline_query(
        self, user_id: int, query: str, *, offset: str = "", language_code: str | None = "ru"
    ) -> dict[str, Any]:
        known = self._users.get(user_id, {})
        user = self._remember_user(
            user_id,
            first_name=known.get("first_name", "Test"),
            username=known.get("username"),
            language_code=language_code,
        )
        inline = {
            "id": self.new_query_id(),
            "from": user,
            "query": query,
            "offset": offset,
            "chat_type": "sender",
        }
        return self._push({"inline_query": inline})

    def my_chat_member(
        self,
        chat_id: int,
        *,
        new_status: str,
        old_status: str,
        user_id: int | None = None,
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """Inject the bot's own membership change (blocked = "kicked" in a private chat)."""
        if user_id is None:
            user_id = chat_id if chat_type == "private" else DEFAULT_GROUP_USER
        chat = self.set_chat(chat_id, chat_type=chat_type) if chat_id not in self._chats else None
        update = {
            "chat": chat or self.chat_object(chat_id),
            "from": self.user_object(user_id),
            "date": int(time.time()),
            "old_chat_member": member_object(self.bot_user(), old_status),
            "new_chat_member": member_object(self.bot_user(), new_status),
        }
        self._bot_status[chat_id] = new_status
        if new_status in ("member", "administrator", "creator"):
            self._blocked.discard(chat_id)
        return self._push({"my_chat_member": update})

    def edited_or_raw(self, update: dict[str, Any]) -> dict[str, Any]:
        """Inject any raw update dict (an update_id is assigned when missing)."""
        return self._push(copy.deepcopy(update))

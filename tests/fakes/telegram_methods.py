"""Bot API method handlers of the fake Telegram server (see telegram.py)."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from tests.fakes.telegram_media import TelegramMedia
from tests.fakes.telegram_state import NANOSTARS, member_object
from tests.fakes.telegram_types import Call, SentMessage, bad_request
from tests.fakes.telegram_validate import (
    inline_markup,
    validate_commands,
    validate_inline_results,
    validate_reply_markup,
)

__all__ = ["TelegramMethods"]

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


class TelegramMethods(TelegramMedia):
    """Messages, edits, queries, bot setup and chat information."""

    async def api_send_message(self, call: Call) -> Any:
        params = call.params
        chat_id = self._chat_id(params)
        self._guard(chat_id, sending=True)
        parsed = self._text(params, "text")
        validate_reply_markup(params.get("reply_markup"))
        reply = self._reply_target(chat_id, params)
        self._throttle(chat_id, params)
        message = self._new_message(chat_id, params, reply)
        self._set_text(message, "text", parsed, params.get("reply_markup"))
        if isinstance(params.get("link_preview_options"), dict):
            message["link_preview_options"] = params["link_preview_options"]
        return self._store(call, chat_id, message, params.get("text"), parsed).message

    # ------------------------------------------------------------------ edits

    def _edit_target(self, params: dict[str, Any]) -> tuple[int, int] | None:
        if params.get("inline_message_id"):
            return None
        chat_id = self._chat_id(params)
        self._guard(chat_id, sending=True)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        return chat_id, message_id

    def _editable(self, key: tuple[int, int]) -> SentMessage:
        sent = self._sent_index.get(key)
        if sent is None or sent.deleted:
            if key in self._messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return sent

    def _apply_edit(
        self, sent: SentMessage, params: dict[str, Any], changes: dict[str, Any]
    ) -> Any:
        message = sent.message
        if all(message.get(key) == value for key, value in changes.items()):
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        sent.reply_markup = params.get("reply_markup")
        sent.edit_count += 1
        return message

    async def api_edit_message_text(self, call: Call) -> Any:
        params = call.params
        key = self._edit_target(params)
        parsed = self._text(params, "text")
        validate_reply_markup(params.get("reply_markup"))
        if key is None:
            return True
        sent = self._editable(key)
        if "text" not in sent.message:
            raise bad_request("there is no text in the message to edit")
        changes = {
            "text": parsed.text,
            "entities": parsed.entities or None,
            "reply_markup": inline_markup(params.get("reply_markup")),
        }
        message = self._apply_edit(sent, params, changes)
        sent.text, sent.plain_text, sent.entities = params.get("text"), parsed.text, parsed.entities
        sent.parse_mode = params.get("parse_mode")
        return message

    async def api_edit_message_caption(self, call: Call) -> Any:
        params = call.params
        key = self._edit_target(params)
        parsed = self._text(params, "caption", caption=True)
        validate_reply_markup(params.get("reply_markup"))
        if key is None:
            return True
        sent = self._editable(key)
        if sent.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        changes = {
            "caption": parsed.text or None,
            "caption_entities": parsed.entities or None,
            "reply_markup": inline_markup(params.get("reply_markup")),
        }
        message = self._apply_edit(sent, params, changes)
        sent.text, sent.plain_text, sent.entities = (
            params.get("caption"),
            parsed.text,
            parsed.entities,
        )
        sent.parse_mode = params.get("parse_mode")
        return message

    async def api_edit_message_reply_markup(self, call: Call) -> Any:
        params = call.params
        key = self._edit_target(params)
        validate_reply_markup(params.get("reply_markup"))
        if key is None:
            return True
        sent = self._editable(key)
        return self._apply_edit(
            sent, params, {"reply_markup": inline_markup(params.get("reply_markup"))}
        )

    def _delete(self, chat_id: int, message_id: int) -> bool:
        key = (chat_id, message_id)
        if key not in self._messages:
            return False
        message = self._messages[key]
        from_bot = message.get("from", {}).get("id") == self.bot_id
        if not from_bot and chat_id < 0 and self.bot_id not in self._admins.get(chat_id, set()):
            raise bad_request("message can't be deleted")
        del self._messages[key]
        if key in self._sent_index:
            self._sent_index[key].deleted = True
        self.deleted.append(key)
        return True

    async def api_delete_message(self, call: Call) -> Any:
        chat_id = self._chat_id(call.params)
        self._guard(chat_id, sending=False)
        message_id = call.params.get("message_id")
        if not isinstance(message_id, int) or not self._delete(chat_id, message_id):
            raise bad_request("message to delete not found")
        return True

    async def api_delete_messages(self, call: Call) -> Any:
        chat_id = self._chat_id(call.params)
        self._guard(chat_id, sending=False)
        ids = call.params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers are not specified")
        for message_id in ids:
            if isinstance(message_id, int):
                self._delete(chat_id, message_id)
        return True

    async def api_send_chat_action(self, call: Call) -> Any:
        chat_id = self._chat_id(call.params)
        self._guard(chat_id, sending=True)
        if call.params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # ---------------------------------------------------------------- queries

    async def api_answer_callback_query(self, call: Call) -> Any:
        text = call.params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._answer_query(call.params.get("callback_query_id"))
        return True

    async def api_answer_inline_query(self, call: Call) -> Any:
        params = call.params
        validate_inline_results(
            params.get("results"), params.get("next_offset"), strict_html=self.strict_html
        )
        self._answer_query(params.get("inline_query_id"))
        return True

    # ------------------------------------------------------------- bot setup

    async def api_get_me(self, call: Call) -> Any:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def api_get_my_star_balance(self, call: Call) -> Any:
        nano = self.star_balance_nano if self.star_balance_nano is not None else 0
        amount, rest = divmod(nano, NANOSTARS)
        return {"amount": amount, "nanostar_amount": rest} if rest else {"amount": amount}

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Commands set by setMyCommands for that scope (default scope) and language."""
        key = self._commands_key({"scope": scope, "language_code": language_code})
        return copy.deepcopy(self._commands.get(key, []))

    async def api_set_my_commands(self, call: Call) -> Any:
        commands = validate_commands(call.params.get("commands"))
        self._commands[self._commands_key(call.params)] = commands
        return True

    async def api_get_my_commands(self, call: Call) -> Any:
        return self._commands.get(self._commands_key(call.params), [])

    async def api_delete_my_commands(self, call: Call) -> Any:
        self._commands.pop(self._commands_key(call.params), None)
        return True

    async def api_set_chat_menu_button(self, call: Call) -> Any:
        button = call.params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise bad_request("can't parse menu button JSON object")
        self._menu_buttons[call.params.get("chat_id")] = button
        return True

    async def api_get_chat_menu_button(self, call: Call) -> Any:
        chat_id = call.params.get("chat_id")
        fallback = {"type": "commands"} if chat_id is None else {"type": "default"}
        return self._menu_buttons.get(chat_id, fallback)

    async def api_set_webhook(self, call: Call) -> Any:
        url = call.params.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        return True

    async def api_delete_webhook(self, call: Call) -> Any:
        self._webhook_url = ""
        if call.params.get("drop_pending_updates"):
            self.drop_pending_updates()
        return True

    async def api_get_webhook_info(self, call: Call) -> Any:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": self.pending_update_count(),
        }

    # ------------------------------------------------------------------ chats

    async def api_get_chat(self, call: Call) -> Any:
        chat_id = self._chat_id(call.params)
        self._guard(chat_id, sending=False)
        return {
            **self.chat_object(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def member_status(self, chat_id: int, user_id: int) -> str:
        if user_id == self.bot_id:
            default = "administrator" if user_id in self._admins.get(chat_id, set()) else "member"
            return self._bot_status.get(chat_id, default)
        return "administrator" if user_id in self._admins.get(chat_id, set()) else "member"

    async def api_get_chat_member(self, call: Call) -> Any:
        chat_id = self._chat_id(call.params)
        self._guard(chat_id, sending=False)
        user_id = call.params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        status = self.member_status(chat_id, user_id)
        return member_object(self.user_object(user_id), status)

    async def api_get_chat_administrators(self, call: Call) -> Any:
        chat_id = self._chat_id(call.params)
        self._guard(chat_id, sending=False)
        if self.chat_object(chat_id)["type"] == "private":
            raise bad_request("there are no administrators in the private chat")
        return [
            member_object(self.user_object(user_id), "administrator")
            for user_id in sorted(self._admins.get(chat_id, set()))
        ]

    async def api_get_chat_member_count(self, call: Call) -> Any:
        chat_id = self._chat_id(call.params)
        self._guard(chat_id, sending=False)
        return 2 if chat_id > 0 else 2 + len(self._admins.get(chat_id, set()))

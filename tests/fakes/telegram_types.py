"""Records and errors shared by the fake Telegram Bot API server modules."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Call",
    "SentMessage",
    "TelegramError",
    "Upload",
    "bad_request",
    "decode_param",
]


class TelegramError(Exception):
    """An error answer: ``{"ok": false, "error_code": N, "description": ..., "parameters"?}``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(text: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {text}")


@dataclass
class Upload:
    """One file part of a multipart request."""

    data: bytes
    filename: str
    content_type: str


@dataclass
class Call:
    """One request the bot made.

    ``params`` holds every form/query/JSON field with JSON values decoded (reply_markup,
    entities, media, ...), numbers as int and "true"/"false" as bool; textual fields
    (text, caption, ids of queries, file ids/URLs, ...) always stay str.
    ``files`` holds uploaded bytes keyed by the parameter that refers to them
    ("photo", "document", "thumbnail", "media[0]" for media groups...); a part nothing
    refers to keeps its multipart field name. ``uploads`` are the raw parts by field name.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    token: str
    uploads: dict[str, Upload] = field(default_factory=dict, repr=False)


@dataclass
class SentMessage:
    """A message the bot created, kept up to date by later edits/deletion.

    ``text`` is the text or caption exactly as sent (markup included) and ``plain_text``
    what Telegram shows after parsing (``entities`` are its entities). ``message`` is the
    Message object as last answered to the bot.
    """

    chat_id: int
    message_id: int
    method: str
    text: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    message_thread_id: int | None
    disable_notification: bool
    params: dict[str, Any]
    plain_text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    message: dict[str, Any] = field(default_factory=dict, repr=False)
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    media_group_id: str | None = None
    edit_count: int = 0
    deleted: bool = False

    @property
    def kind(self) -> str:
        """ "text", "photo", "document", "video", ... — what the message carries."""
        for key in ("photo", "document", "video", "animation", "audio", "voice"):
            if key in self.message:
                return key
        return "text"

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every inline keyboard button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]


# Fields whose values are text and must never be decoded as numbers/JSON.
_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "callback_query_id",
        "inline_query_id",
        "inline_message_id",
        "next_offset",
        "url",
        "photo",
        "document",
        "video",
        "audio",
        "animation",
        "voice",
        "sticker",
        "thumbnail",
        "video_note",
        "file_id",
        "title",
        "description",
        "short_description",
        "name",
        "emoji",
        "custom_emoji_id",
        "parse_mode",
        "caption_parse_mode",
        "action",
        "language_code",
        "secret_token",
        "business_connection_id",
        "message_effect_id",
        "switch_pm_text",
        "switch_pm_parameter",
        "ip_address",
        "first_name",
        "last_name",
        "phone_number",
        "question",
        "address",
        "payload",
        "currency",
        "start_parameter",
        "game_short_name",
    }
)
_INT = re.compile(r"-?\d{1,19}")


def decode_param(key: str, value: str) -> Any:
    if key in _TEXT_PARAMS:
        return value
    if _INT.fullmatch(value):
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value

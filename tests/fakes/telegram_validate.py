"""Request validation of the fake Telegram Bot API server, with Telegram's error texts."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.telegram_html import EntityParseError, ParsedText, parse_html, utf16_len
from tests.fakes.telegram_markdown import parse_markdown, parse_markdown_v2
from tests.fakes.telegram_types import bad_request

__all__ = [
    "MAX_CAPTION",
    "MAX_TEXT",
    "format_text",
    "inline_markup",
    "validate_commands",
    "validate_inline_results",
    "validate_reply_markup",
]

MAX_TEXT = 4096
MAX_CAPTION = 1024
_TRIM = " \t\r\n\v\f"
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_HTTP_URL = re.compile(r"^https?://[^\s/?#@]+(?::\d{1,5})?([/?#]\S*)?$", re.IGNORECASE)
_TG_URL = re.compile(r"^tg://\S+$", re.IGNORECASE)
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_INLINE_RESULT_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)


def _trim(parsed: ParsedText) -> ParsedText:
    """Telegram strips leading/trailing whitespace and clips the entities accordingly."""
    text = parsed.text
    stripped = text.strip(_TRIM)
    if stripped == text:
        return parsed
    lead = utf16_len(text[: len(text) - len(text.lstrip(_TRIM))])
    size = utf16_len(stripped)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(stripped, entities)


def format_text(
    raw: Any,
    parse_mode: Any,
    entities: Any,
    *,
    caption: bool = False,
    strict_html: bool = True,
) -> ParsedText:
    """Parse a text/caption like Telegram; raises TelegramError (400) when it is refused."""
    if raw is None or raw == "":
        if caption:
            return ParsedText("")
        raise bad_request("message text is empty")
    raw = str(raw)
    mode = str(parse_mode).lower() if parse_mode else ""
    try:
        if mode == "":
            parsed = ParsedText(raw, _explicit_entities(raw, entities))
        elif mode == "html":
            parsed = parse_html(raw, strict=strict_html)
        elif mode == "markdownv2":
            parsed = parse_markdown_v2(raw)
        elif mode == "markdown":
            parsed = parse_markdown(raw)
        else:
            raise bad_request("unsupported parse_mode")
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    parsed = _trim(parsed)
    if not parsed.text and not caption:
        raise bad_request("message text is empty")
    if len(parsed.text) > (MAX_CAPTION if caption else MAX_TEXT):
        raise bad_request("message caption is too long" if caption else "message is too long")
    return parsed


def _explicit_entities(text: str, entities: Any) -> list[dict[str, Any]]:
    if entities in (None, ""):
        return []
    if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
        raise bad_request("can't parse entities JSON object")
    size = utf16_len(text)
    result = []
    for entity in entities:
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or "type" not in entity:
            raise bad_request("can't parse MessageEntity JSON object")
        if offset >= 0 and length > 0 and offset + length <= size:
            result.append(dict(entity))
    return result


def _check_url(url: Any, what: str) -> None:
    if not isinstance(url, str) or not (_HTTP_URL.match(url) or _TG_URL.match(url)):
        raise bad_request(f"{what} URL '{url}' is invalid: Wrong HTTP URL")


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [key for key in _BUTTON_ACTIONS if button.get(key) is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be "
            f"used, got {', '.join(actions)}"
        )
    action = actions[0]
    value = button[action]
    if action == "callback_data":
        if not isinstance(value, str) or not 1 <= len(value.encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    elif action == "url":
        _check_url(value, "inline keyboard button")
    elif action in ("web_app", "login_url"):
        if not isinstance(value, dict):
            raise bad_request(f"can't parse inline keyboard button: {action} must be an Object")
        _check_url(value.get("url"), f"inline keyboard button {action}")
    elif action in ("switch_inline_query", "switch_inline_query_current_chat"):
        if not isinstance(value, str):
            raise bad_request(f"can't parse inline keyboard button: {action} must be a String")
    elif action == "copy_text":
        copied = value.get("text") if isinstance(value, dict) else None
        if not isinstance(copied, str) or not 1 <= len(copied) <= 256:
            raise bad_request("COPY_TEXT_INVALID")


def validate_reply_markup(markup: Any) -> None:
    """Check reply_markup like Telegram (InlineKeyboardMarkup and the reply keyboards)."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        if sum(len(row) for row in rows) > 100:
            raise bad_request("reply markup is too long")
        for row in rows:
            for button in row:
                _validate_inline_button(button)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text.strip():
                    raise bad_request("can't parse keyboard button: Text must be non-empty")
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise bad_request("can't parse reply keyboard markup JSON object")


def inline_markup(markup: Any) -> dict[str, Any] | None:
    """What Telegram echoes in Message.reply_markup: only inline keyboards."""
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


def validate_commands(commands: Any) -> list[dict[str, Any]]:
    if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too much commands specified")
    for command in commands:
        name = command.get("command")
        if not isinstance(name, str) or not _COMMAND.match(name):
            raise bad_request("BOT_COMMAND_INVALID")
        description = command.get("description")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return [dict(command) for command in commands]


def validate_inline_results(
    results: Any, next_offset: Any, *, strict_html: bool = True
) -> list[dict[str, Any]]:
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise bad_request("can't parse inline query results JSON object")
    if len(results) > 50:
        raise bad_request("RESULTS_TOO_MUCH")
    if next_offset is not None and len(str(next_offset).encode("utf-8")) > 64:
        raise bad_request("NEXT_OFFSET_INVALID")
    seen: set[str] = set()
    for result in results:
        if result.get("type") not in _INLINE_RESULT_TYPES:
            raise bad_request("RESULT_TYPE_INVALID")
        result_id = result.get("id")
        if not isinstance(result_id, str) or not 1 <= len(result_id.encode("utf-8")) <= 64:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        if result["type"] == "article" and not result.get("title"):
            raise bad_request("RESULT_TITLE_EMPTY")
        content = result.get("input_message_content")
        if result["type"] == "article" and not isinstance(content, dict):
            raise bad_request("can't parse InputMessageContent JSON object")
        if isinstance(content, dict) and "message_text" in content:
            format_text(
                content.get("message_text"),
                content.get("parse_mode"),
                content.get("entities"),
                strict_html=strict_html,
            )
        validate_reply_markup(result.get("reply_markup"))
    return results

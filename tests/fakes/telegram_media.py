"""Files and media messages of the fake Telegram server."""

from __future__ import annotations

import mimetypes
import secrets
from typing import Any

from tests.fakes.telegram_state import StoredFile, TelegramState
from tests.fakes.telegram_types import Call, Upload, bad_request
from tests.fakes.telegram_validate import format_text, validate_reply_markup

__all__ = ["TelegramMedia"]

WRONG_FILE = "wrong file identifier/HTTP URL specified"
_FILE_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
    "animation": "CgACAgIAAxkBAAI",
    "audio": "CQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
}
_PHOTO_SIZES = ((90, 51), (320, 180), (800, 450), (1280, 720))


class TelegramMedia(TelegramState):
    """sendPhoto/Document/Video/Animation/Audio/Voice, sendMediaGroup, getFile."""

    # ------------------------------------------------------------------ files

    def _new_file(
        self, kind: str, data: bytes, filename: str | None, mime: str | None
    ) -> StoredFile:
        stored = StoredFile(
            file_id=_FILE_PREFIX.get(kind, "BQACAgIAAxkBAAI") + secrets.token_urlsafe(24),
            unique_id="AQAD" + secrets.token_urlsafe(9),
            kind=kind,
            data=data,
            filename=filename,
            mime_type=mime or (mimetypes.guess_type(filename)[0] if filename else None),
        )
        self._files[stored.file_id] = stored
        return stored

    def _resolve_file(
        self, call: Call, kind: str, value: Any, field_name: str
    ) -> tuple[StoredFile, bytes | None]:
        """The file a media field refers to, and the uploaded bytes if it was uploaded."""
        upload: Upload | None = None
        if value is None and field_name in call.uploads:
            upload = call.uploads[field_name]
        elif isinstance(value, str) and value.startswith("attach://"):
            upload = call.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"there is no {kind} in the request")
        if upload is not None:
            if not upload.data:
                raise bad_request("file must be non-empty")
            mime = (
                upload.content_type if upload.content_type != "application/octet-stream" else None
            )
            return self._new_file(kind, upload.data, upload.filename, mime), upload.data
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {kind} in the request")
        if value.startswith(("http://", "https://")):
            if kind == "photo" and self.refuse_photo_urls:
                raise bad_request(WRONG_FILE)
            name = value.rsplit("/", 1)[-1].split("?")[0] or None
            return self._new_file(kind, b"", name, None), None
        stored = self._files.get(value)
        if stored is None:
            if not self.accept_unknown_file_ids:
                raise bad_request(WRONG_FILE)
            stored = self._new_file(kind, b"", None, None)
            self._files[value] = stored
        if (stored.kind == "photo") != (kind == "photo"):
            raise bad_request(
                f"can't use file of type {stored.kind.capitalize()} as {kind.capitalize()}"
            )
        return stored, None

    def _media_object(self, stored: StoredFile, kind: str) -> Any:
        size = len(stored.data)
        if kind == "photo":
            sizes = []
            for index, (width, height) in enumerate(_PHOTO_SIZES):
                last = index == len(_PHOTO_SIZES) - 1
                file_id = stored.file_id if last else f"{stored.file_id}_{width}"
                self._files[file_id] = stored
                sizes.append(
                    {
                        "file_id": file_id,
                        "file_unique_id": stored.unique_id
                        if last
                        else f"{stored.unique_id}{index}",
                        "width": width,
                        "height": height,
                        "file_size": max(size * (index + 1) // len(_PHOTO_SIZES), 1),
                    }
                )
            return sizes
        obj: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": size,
        }
        if kind in ("video", "animation"):
            obj.update(width=1280, height=720, duration=0)
        elif kind in ("audio", "voice"):
            obj["duration"] = 0
        if stored.filename and kind != "voice":
            obj["file_name"] = stored.filename
        if stored.mime_type:
            obj["mime_type"] = stored.mime_type
        return obj

    async def _send_media(self, call: Call, kind: str) -> Any:
        params = call.params
        chat_id = self._chat_id(params)
        self._guard(chat_id, sending=True)
        parsed = self._text(params, "caption", caption=True)
        validate_reply_markup(params.get("reply_markup"))
        reply = self._reply_target(chat_id, params)
        stored, data = self._resolve_file(call, kind, params.get(kind), kind)
        self._throttle(chat_id, params)
        message = self._new_message(chat_id, params, reply)
        message[kind] = self._media_object(stored, kind)
        self._set_text(message, "caption", parsed, params.get("reply_markup"))
        files = {kind: data} if data is not None else {}
        return self._store(
            call, chat_id, message, params.get("caption"), parsed, files=files
        ).message

    async def api_send_photo(self, call: Call) -> Any:
        return await self._send_media(call, "photo")

    async def api_send_document(self, call: Call) -> Any:
        return await self._send_media(call, "document")

    async def api_send_video(self, call: Call) -> Any:
        return await self._send_media(call, "video")

    async def api_send_animation(self, call: Call) -> Any:
        return await self._send_media(call, "animation")

    async def api_send_audio(self, call: Call) -> Any:
        return await self._send_media(call, "audio")

    async def api_send_voice(self, call: Call) -> Any:
        return await self._send_media(call, "voice")

    async def api_send_media_group(self, call: Call) -> Any:
        params = call.params
        chat_id = self._chat_id(params)
        self._guard(chat_id, sending=True)
        media = params.get("media")
        if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
            raise bad_request("can't parse media JSON object")
        if not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the album: must be 2-10")
        kinds = {item.get("type") for item in media}
        if not kinds <= {"photo", "video", "document", "audio"}:
            raise bad_request("can't parse InputMedia JSON object")
        if len(kinds) > 1 and kinds & {"document", "audio"}:
            raise bad_request(f"can't mix {' and '.join(sorted(map(str, kinds)))} in an album")
        reply = self._reply_target(chat_id, params)
        prepared = []
        for index, item in enumerate(media):
            kind = str(item["type"])
            parsed = format_text(
                item.get("caption"),
                item.get("parse_mode"),
                item.get("caption_entities"),
                caption=True,
                strict_html=self.strict_html,
            )
            stored, data = self._resolve_file(call, kind, item.get("media"), f"media[{index}]")
            prepared.append((item, kind, parsed, stored, data))
        self._throttle(chat_id, params)
        self._media_groups += 1
        group_id = str(13_000_000_000_000_000 + self._media_groups)
        answer = []
        for item, kind, parsed, stored, data in prepared:
            message = self._new_message(chat_id, params, reply)
            message["media_group_id"] = group_id
            message[kind] = self._media_object(stored, kind)
            self._set_text(message, "caption", parsed, None)
            files = {kind: data} if data is not None else {}
            raw = item.get("caption")
            sent = self._store(
                call, chat_id, message, raw, parsed, files=files, media_group_id=group_id
            )
            sent.parse_mode = item.get("parse_mode")
            answer.append(message)
        return answer

    async def api_get_file(self, call: Call) -> Any:
        stored = self._files.get(str(call.params.get("file_id", "")))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > 20 * 1024 * 1024:
            raise bad_request("file is too big")
        if stored.path is None:
            extension = (stored.filename or "").rpartition(".")[2] or "bin"
            stored.path = f"{stored.kind}s/file_{len(self._paths)}.{extension}"
            self._paths[stored.path] = stored
        return {
            "file_id": call.params["file_id"],
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }

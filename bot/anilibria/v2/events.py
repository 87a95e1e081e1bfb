"""Typed AniLibria API v2 WebSocket events and a parser that never raises.

The live v2 server and its documents disagree on the shape of a message, so
:func:`parse_event` accepts all three forms of every event:

* the envelope the live server sent: ``{"type": "playlist_update", "playlist_update": {...}}``
  (a v3-style ``{"type": X, "data": {...}}`` and ``{"type": X, <body fields>}`` are accepted too);
* the named form without ``type``: ``{"title_update": {...}}`` (v2.13.1 document);
* the bare frames of the v2.13.1 document, told apart by their keys:

  ============================================  ==========================================
  keys of a bare frame                          event
  ============================================  ==========================================
  ``id`` + ``player`` (``serie``/``episode``)   :class:`PlaylistUpdate` (v2.13.1 flat form)
  ``title`` (+ ``hash``/``diff``)               :class:`TitleUpdate`
  ``id`` + ``torrents``                         :class:`TorrentUpdate`
  ``id`` + ``encoded_percent``                  :class:`EncodeProgress`
  ``id`` + ``serie`` + ``quality``              :class:`EncodeStart` (v2.13.1 ``start_encode``)
  ``id`` + ``serie``                            :class:`EncodeFinish` (v2.13.1 ``end_encode``)
  ``id`` + ``episode``                          :class:`EncodeFinish` (v2.13.18 ``encode_finish``)
  ``id`` + ``episode`` + ``quality``            ambiguous (start or end): :class:`UnknownEvent`
  ============================================  ==========================================

Event names map to classes as follows. v2.13.1's ``end_encode`` meant "encoded in *all*
qualities", which v2.13.18 calls ``encode_finish``; v2.13.18's ``encode_end`` is the end of one
quality. So ``end_encode`` becomes :class:`EncodeFinish` and ``start_encode`` :class:`EncodeStart`;
the name actually received stays in ``EncodeEvent.name``.

Strictness: the fields that identify what happened (title ``id``, episode, ``reupload``) must
be integers (or strings of digits) / booleans, otherwise the frame is an :class:`UnknownEvent`.
Descriptive fields are lenient: a nested object that does not validate (``player``,
``updated_episode``, ``torrents``) becomes ``None`` (the dict stays in ``raw``, and in
``player_raw`` / ``torrents_raw``); a wrong percent or quality becomes ``None``. A
``title_update`` whose ``title`` does not validate is unknown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, TypeVar

from pydantic import BaseModel, ValidationError

from bot.anilibria.v2.models import Episode, Player, Title, Torrents

__all__ = [
    "EVENT_NAMES",
    "ConnectionGreeting",
    "EncodeEnd",
    "EncodeEvent",
    "EncodeFinish",
    "EncodeProgress",
    "EncodeStart",
    "ErrorFrame",
    "Event",
    "PlaylistUpdate",
    "Shape",
    "SubscribeAck",
    "TitleUpdate",
    "TorrentUpdate",
    "UnknownEvent",
    "parse_event",
]

Shape: TypeAlias = Literal["envelope", "named", "bare"]
"""Which of the three message forms an event arrived in."""

EXCERPT_CHARS = 200


@dataclass(frozen=True, slots=True)
class PlaylistUpdate:
    """An episode became available in one quality (or was re-uploaded)."""

    title_id: int
    episode: int | None
    quality: str | None = None
    """``quality`` of the flat form; else inferred when the diff shows exactly one new quality."""
    reupload: bool = False
    player: Player | None = field(default=None, repr=False)
    updated_episode: Episode | None = None
    diff: dict[str, Any] = field(default_factory=dict)
    """The *previous* values of what changed; ``"playlist": {}`` for a new episode."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    player_raw: dict[str, Any] | None = field(default=None, repr=False)
    shape: Shape = "envelope"

    @property
    def is_new_episode_hint(self) -> bool | None:
        """What the diff suggests: True when the episode was not in the previous playlist.

        None when the frame carries no diff (the bare v2.13.1 form) or no episode number.
        Only a hint: the bot's rule of what is news is its high-water mark.
        """
        if self.reupload:
            return False
        if self.episode is None or not self.diff:
            return None
        previous = self.diff.get("playlist")
        if previous is None:
            return False  # the playlist did not change (only host, series, ...)
        if not previous:  # {} or PHP's [] for an empty array
            return True
        if isinstance(previous, Mapping):
            return previous.get(str(self.episode), None) is None
        return None


@dataclass(frozen=True, slots=True, repr=False)
class TitleUpdate:
    """Something about a title changed (not always news: hosts and torrents change too)."""

    hash: str | None
    title: Title
    diff: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    title_raw: dict[str, Any] = field(default_factory=dict, repr=False)
    shape: Shape = "envelope"

    @property
    def title_id(self) -> int:
        return self.title.id

    def __repr__(self) -> str:
        return (
            f"TitleUpdate(title_id={self.title.id}, code={self.title.code!r}, "
            f"hash={self.hash!r}, diff_keys={sorted(self.diff)}, shape={self.shape!r})"
        )


@dataclass(frozen=True, slots=True)
class EncodeEvent:
    """Common fields of the encode events (``id``/``episode`` arrive as strings)."""

    title_id: int
    episode: int | None
    quality: str | None = None
    resolution: str | None = None
    is_reupload: bool | None = None
    name: str = ""
    """The event name as received, e.g. ``encode_start`` or ``start_encode``."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    shape: Shape = "envelope"


@dataclass(frozen=True, slots=True)
class EncodeStart(EncodeEvent):
    """Encoding of one quality started (``encode_start``, v2.13.1 ``start_encode``)."""


@dataclass(frozen=True, slots=True)
class EncodeProgress(EncodeEvent):
    """Every 5 % of encoding one quality (``encode_progress``)."""

    percent: int | None = None


@dataclass(frozen=True, slots=True)
class EncodeEnd(EncodeEvent):
    """One quality finished encoding (``encode_end``)."""


@dataclass(frozen=True, slots=True)
class EncodeFinish(EncodeEvent):
    """All qualities finished (``encode_finish``, v2.13.1 ``end_encode``)."""


@dataclass(frozen=True, slots=True)
class TorrentUpdate:
    title_id: int
    torrents: Torrents | None = None
    updated_torrent_id: int | None = None
    diff: dict[str, Any] = field(default_factory=dict)
    hash: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    torrents_raw: dict[str, Any] | None = field(default=None, repr=False)
    shape: Shape = "envelope"


@dataclass(frozen=True, slots=True)
class ConnectionGreeting:
    """``{"connection": "success", "api_version": "..."}`` sent on connect."""

    api_version: str | None
    success: bool = True
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class SubscribeAck:
    """``{"subscribe": "success", "subscription_id": N}``."""

    subscription_id: int | None
    success: bool = True
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    """``{"error": ...}`` from the server."""

    error: Any
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """A message that could not be understood. ``excerpt`` is its first ~200 characters."""

    reason: str
    excerpt: str


Event: TypeAlias = (
    PlaylistUpdate
    | TitleUpdate
    | EncodeStart
    | EncodeProgress
    | EncodeEnd
    | EncodeFinish
    | TorrentUpdate
    | ConnectionGreeting
    | SubscribeAck
    | ErrorFrame
    | UnknownEvent
)


class _Bad(Exception):
    """The frame is understood as some event but a field is unusable."""


_INT_RE = re.compile(r"[+-]?\d+", re.ASCII)


def _int(value: Any, name: str, *, required: bool = False, strict: bool = True) -> int | None:
    if value is None:
        if required:
            raise _Bad(f"{name} is missing")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip())
    if strict or required:
        raise _Bad(f"{name} is not an integer: {_short(value)}")
    return None


def _bool(value: Any, name: str, *, strict: bool = True) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if strict:
        raise _Bad(f"{name} is not a boolean: {_short(value)}")
    return None


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _quality(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _short(value: Any) -> str:
    return repr(value)[:40]


_M = TypeVar("_M", bound=BaseModel)


def _model(cls: type[_M], value: Any) -> _M | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return cls.model_validate(value)
    except ValidationError:
        return None


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc)[:100]
    first = errors[0]
    loc = ".".join(str(part) for part in first.get("loc", ()))
    return f"{loc}: {first.get('msg', '')}"[:120]


def _infer_quality(diff: Mapping[str, Any], episode: int | None) -> str | None:
    """The one quality whose previous value in the diff was null, if exactly one."""
    playlist = diff.get("playlist")
    if episode is None or not isinstance(playlist, Mapping):
        return None
    entry = playlist.get(str(episode))
    hls = entry.get("hls") if isinstance(entry, Mapping) else None
    if not isinstance(hls, Mapping):
        return None
    added = [q for q, v in hls.items() if v is None and isinstance(q, str)]
    return added[0] if len(added) == 1 else None


def _episode(body: Mapping[str, Any]) -> int | None:
    value = body["episode"] if body.get("episode") is not None else body.get("serie")
    return _int(value, "episode")


def _playlist(body: dict[str, Any], frame: dict[str, Any], shape: Shape, name: str) -> Event:
    title_id = _int(body.get("id"), "id", required=True)
    assert title_id is not None
    episode = _episode(body)
    player_raw = body.get("player")
    updated_raw = body.get("updated_episode")
    updated = _model(Episode, updated_raw)
    if episode is None and isinstance(updated_raw, Mapping):
        episode = _int(updated_raw.get("serie"), "updated_episode.serie")
    diff = _dict(body.get("diff"))
    quality = _quality(body.get("quality")) or _infer_quality(diff, episode)
    return PlaylistUpdate(
        title_id=title_id,
        episode=episode,
        quality=quality,
        reupload=bool(_bool(body.get("reupload"), "reupload")),
        player=_model(Player, player_raw),
        updated_episode=updated,
        diff=diff,
        raw=frame,
        player_raw=dict(player_raw) if isinstance(player_raw, Mapping) else None,
        shape=shape,
    )


def _title(body: dict[str, Any], frame: dict[str, Any], shape: Shape, name: str) -> Event:
    title_raw = body.get("title")
    if not isinstance(title_raw, Mapping):
        raise _Bad("title is missing or not an object")
    try:
        title = Title.model_validate(title_raw)
    except ValidationError as exc:
        raise _Bad(f"invalid title: {_first_error(exc)}") from None
    return TitleUpdate(
        hash=_str(body.get("hash")),
        title=title,
        diff=_dict(body.get("diff")),
        raw=frame,
        title_raw=dict(title_raw),
        shape=shape,
    )


def _torrent(body: dict[str, Any], frame: dict[str, Any], shape: Shape, name: str) -> Event:
    title_id = _int(body.get("id"), "id", required=True)
    assert title_id is not None
    torrents_raw = body.get("torrents")
    return TorrentUpdate(
        title_id=title_id,
        torrents=_model(Torrents, torrents_raw),
        updated_torrent_id=_int(body.get("updated_torrent_id"), "updated_torrent_id", strict=False),
        diff=_dict(body.get("diff")),
        hash=_str(body.get("hash")),
        raw=frame,
        torrents_raw=dict(torrents_raw) if isinstance(torrents_raw, Mapping) else None,
        shape=shape,
    )


_ENCODE_CLASSES: dict[
    str, type[EncodeStart] | type[EncodeProgress] | type[EncodeEnd] | type[EncodeFinish]
] = {
    "encode_start": EncodeStart,
    "start_encode": EncodeStart,
    "encode_progress": EncodeProgress,
    "encode_end": EncodeEnd,
    "encode_finish": EncodeFinish,
    "end_encode": EncodeFinish,
}


def _encode(body: dict[str, Any], frame: dict[str, Any], shape: Shape, name: str) -> Event:
    title_id = _int(body.get("id"), "id", required=True)
    assert title_id is not None
    reupload = body.get("isReupload", body.get("is_reupload"))
    common: dict[str, Any] = {
        "title_id": title_id,
        "episode": _episode(body),
        "quality": _quality(body.get("quality")),
        "resolution": _str(body.get("resolution")),
        "is_reupload": _bool(reupload, "isReupload", strict=False),
        "name": name,
        "raw": frame,
        "shape": shape,
    }
    cls = _ENCODE_CLASSES[name]
    if cls is EncodeProgress:
        percent = body.get("encoded_percent", body.get("percent"))
        try:
            common["percent"] = None if percent is None else int(float(percent))
        except (TypeError, ValueError, OverflowError):
            common["percent"] = None
    return cls(**common)


_Parser: TypeAlias = Callable[[dict[str, Any], dict[str, Any], Shape, str], Event]

EVENT_NAMES: Mapping[str, _Parser] = {
    "playlist_update": _playlist,
    "title_update": _title,
    "torrent_update": _torrent,
    **{name: _encode for name in _ENCODE_CLASSES},
}
"""Every event name understood, documented and seen live."""


def _bare_name(frame: Mapping[str, Any]) -> str | None:
    keys = frame.keys()
    if isinstance(frame.get("title"), Mapping) and ("hash" in keys or "diff" in keys):
        return "title_update"
    if "id" not in keys:
        return None
    if "player" in keys or "updated_episode" in keys:
        return "playlist_update"
    if "torrents" in keys:
        return "torrent_update"
    if "encoded_percent" in keys:
        return "encode_progress"
    if "serie" in keys:
        return "start_encode" if "quality" in keys else "end_encode"
    if "episode" in keys:
        return "encode_finish" if "quality" not in keys else "ambiguous"
    return None


def _control(frame: dict[str, Any]) -> Event | None:
    if "connection" in frame:
        status = frame.get("connection")
        return ConnectionGreeting(
            api_version=_str(frame.get("api_version")),
            success=status == "success",
            raw=frame,
        )
    if isinstance(frame.get("subscribe"), str):
        return SubscribeAck(
            subscription_id=_int(frame.get("subscription_id"), "subscription_id", strict=False),
            success=frame.get("subscribe") == "success",
            raw=frame,
        )
    if "error" in frame:
        return ErrorFrame(error=frame.get("error"), raw=frame)
    return None


def _excerpt(raw: str | bytes | Mapping[str, Any]) -> str:
    if isinstance(raw, bytes):
        return raw[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]
    if isinstance(raw, str):
        return raw[:EXCERPT_CHARS]
    try:
        return json.dumps(raw, ensure_ascii=False, default=str)[:EXCERPT_CHARS]
    except (TypeError, ValueError):
        return repr(raw)[:EXCERPT_CHARS]


def _decode(raw: str | bytes | Mapping[str, Any]) -> Any:
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise _Bad("not UTF-8") from None
    elif isinstance(raw, str):
        text = raw
    else:
        raise _Bad(f"unsupported input {type(raw).__name__}")
    if not text.strip():
        raise _Bad("empty message")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _Bad("not JSON") from None


def _dispatch(frame: dict[str, Any]) -> Event:
    kind = frame.get("type")
    if isinstance(kind, str):
        parser = EVENT_NAMES.get(kind)
        if parser is None:
            raise _Bad(f"unknown event type {kind!r}")
        body = frame.get(kind)
        if body is None and isinstance(frame.get("data"), Mapping):
            body = frame["data"]
        if body is None and "id" in frame:  # {"type": X, <body fields>}
            body = {k: v for k, v in frame.items() if k != "type"}
        if not isinstance(body, Mapping):
            raise _Bad(f"{kind}: body is missing or not an object")
        return _named(parser, dict(body), frame, "envelope", kind)
    control = _control(frame)
    if control is not None:
        return control
    named = [name for name in EVENT_NAMES if name in frame]
    if len(named) > 1:
        raise _Bad(f"ambiguous: several event names {named}")
    if named:
        name = named[0]
        body = frame[name]
        if not isinstance(body, Mapping):
            raise _Bad(f"{name}: body is not an object")
        return _named(EVENT_NAMES[name], dict(body), frame, "named", name)
    bare = _bare_name(frame)
    if bare == "ambiguous":
        raise _Bad("ambiguous bare encode frame {id, episode, quality}: start or end?")
    if bare is None:
        raise _Bad("unrecognised message (no type, no event name, unknown keys)")
    return _named(EVENT_NAMES[bare], frame, frame, "bare", bare)


def _named(
    parser: _Parser, body: dict[str, Any], frame: dict[str, Any], shape: Shape, name: str
) -> Event:
    try:
        return parser(body, frame, shape, name)
    except _Bad as exc:
        raise _Bad(f"{name}: {exc}") from None


def parse_event(raw: str | bytes | Mapping[str, Any]) -> Event:
    """Parse one WebSocket message. Never raises: anything not understood is an UnknownEvent."""
    try:
        frame = _decode(raw)
        if not isinstance(frame, dict):
            raise _Bad(f"JSON {type(frame).__name__}, not an object")
        return _dispatch(frame)
    except _Bad as exc:
        return UnknownEvent(reason=str(exc), excerpt=_excerpt(raw))
    except Exception as exc:  # a parser bug must not stop the stream
        return UnknownEvent(
            reason=f"parser error: {type(exc).__name__}: {exc}"[:200], excerpt=_excerpt(raw)
        )

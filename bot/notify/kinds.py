"""Kinds of notices a chat (or one subscription) can switch on or off."""

from __future__ import annotations

import enum

__all__ = ["DEFAULT_KINDS", "NoticeKind"]


class NoticeKind(enum.IntFlag):
    EPISODE = 1  # a new episode: on by default, it is what the bot is for
    FINISHED = 2  # the series finished: on by default, it is rare and final
    ANNOUNCE = 4  # the announcement line changed: off by default, it is chatty
    TORRENT = 8  # a torrent of a new quality or series range: off by default
    NEW_TITLE = 16  # a new title that a /follow rule matches: switched on by the chat's first rule
    VIDEO = 32  # AniLibria's own new videos (trailers, announcements): off by default


DEFAULT_KINDS = NoticeKind.EPISODE | NoticeKind.FINISHED  # must match chats.kinds DEFAULT 3

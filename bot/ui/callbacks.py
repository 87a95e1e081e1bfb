"""Callback data of every inline button, in one place: notices and handlers share them.

Telegram allows 64 bytes of callback data; every factory here stays far below with int ids
and short prefixes. Data that does not parse is "forged or stale" and gets a polite answer.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

__all__ = [
    "CardCb",
    "DigestCb",
    "FavCb",
    "FollowCb",
    "FollowFavCb",
    "ForgetCb",
    "LoginCb",
    "PageCb",
    "RssCb",
    "RuleCb",
    "ScheduleCb",
    "SettingsCb",
    "SubCb",
    "TorrentCb",
]


class SubCb(CallbackData, prefix="sub"):
    """Subscribe (on=True) or unsubscribe (on=False) this chat; `ctx` says which view to redraw."""

    title_id: int
    on: bool
    ctx: str = "n"  # n: notice, c: card, s: search, l: list, f: favorites


class CardCb(CallbackData, prefix="card"):
    title_id: int
    more: bool = False


class PageCb(CallbackData, prefix="pg"):
    """A page of a list: `what` is s (search), l (subscriptions), f (favorites)."""

    what: str
    offset: int
    token: str = ""  # short key of the query in the bot's memory (search text can be long)


class ScheduleCb(CallbackData, prefix="sch"):
    day: int
    only_followed: bool = False


class TorrentCb(CallbackData, prefix="tor"):
    torrent_id: int


class FavCb(CallbackData, prefix="fav"):
    title_id: int
    add: bool


class SettingsCb(CallbackData, prefix="set"):
    action: str
    value: str = ""


class DigestCb(CallbackData, prefix="dg"):
    action: str
    value: str = ""


class ForgetCb(CallbackData, prefix="forget"):
    confirm: bool


class FollowFavCb(CallbackData, prefix="ffav"):
    """Turn "follow my favorites" in this chat on or off, for the user who presses."""

    on: bool


class RssCb(CallbackData, prefix="rss"):
    """Show the presser's personal feed link in another format: rss, atom or json."""

    kind: str


class LoginCb(CallbackData, prefix="login"):
    """/login's choices: a new one-time code ("code") or the password dialogue ("password")."""

    action: str


class FollowCb(CallbackData, prefix="fw"):
    """A step of the /follow builder (or a pick among suggested names): `action` is what was
    pressed, `value` a short code (an index into a list the dialogue keeps, a kind, a season)."""

    action: str
    value: str = ""


class RuleCb(CallbackData, prefix="rule"):
    """A rule of this chat: delete it ("del") or switch "also subscribe" ("sub1", "sub0")."""

    action: str
    rule_id: int

"""Whether to show "add to / remove from favorites" on a card or search result, and the button.

Owned by the account feature; cards and search ask here so they need not know about sessions.
The button is shown only in a private chat, to its own user: in a group it would tell everyone
who is logged in. Presses are handled in bot/handlers/favorites.py (FavCb), always with the
presser's own session.
"""

from __future__ import annotations

from aiogram.enums import ChatType
from aiogram.types import Chat, InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.handlers.services import Services
from bot.ui.callbacks import FavCb

__all__ = ["favorite_button", "favorite_button_state"]


async def favorite_button_state(
    services: Services, chat: Chat, user_id: int | None, title_id: int
) -> bool | None:
    """True/False: the title is/is not in the user's favorites; None: show no button
    (not a private chat, or the user has no linked account)."""
    if chat.type != ChatType.PRIVATE or user_id is None or user_id != chat.id:
        return None
    ids = await services.accounts.favorite_ids(
        user_id, max_age=services.settings.favorites_refresh_seconds
    )
    if ids is None:
        return None
    return title_id in ids


def favorite_button(
    title_id: int, in_favorites: bool, *, compact: bool = False
) -> InlineKeyboardButton:
    """The add/remove button for a title (compact: the emoji alone, for lists)."""
    if in_favorites:
        text = "💔" if compact else _("💔 Remove from favorites")
    else:
        text = "⭐" if compact else _("⭐ Add to favorites")
    return InlineKeyboardButton(
        text=text, callback_data=FavCb(title_id=title_id, add=not in_favorites).pack()
    )

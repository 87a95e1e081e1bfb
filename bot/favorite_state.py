"""Whether to show "add to / remove from favorites" on a card or search result.

Owned by the account feature; cards and search ask here so they need not know about sessions.
"""

from __future__ import annotations

from aiogram.types import Chat

from bot.services import Services

__all__ = ["favorite_button_state"]


async def favorite_button_state(
    services: Services, chat: Chat, user_id: int | None, title_id: int
) -> bool | None:
    """True/False: the title is/is not in the user's favorites; None: show no button
    (not a private chat, or the user has no linked account)."""
    return None

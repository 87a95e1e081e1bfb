"""What the bot says when spoken to: one aiogram Router per feature."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import common, subscriptions

__all__ = ["build_router"]


def build_router() -> Router:
    """Every feature router in the order they should see updates (fallbacks last)."""
    root = Router(name="root")
    root.include_router(subscriptions.router)
    root.include_router(common.router)  # /start, /help and the fallbacks go last
    return root

"""What the bot says when spoken to: one aiogram Router per feature."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    account,
    admin,
    catalogue,
    common,
    digest,
    errors,
    favorites,
    inline,
    rule_builder,
    rules,
    schedule,
    settings,
    subscriptions,
    transfer,
    videos,
)

__all__ = ["build_router"]


def build_router() -> Router:
    """Every feature router in the order they should see updates (fallbacks last)."""
    root = Router(name="root")
    root.errors.register(errors.on_error)
    root.include_router(account.router)  # first: a login dialogue sees its messages first
    root.include_router(favorites.router)
    root.include_router(admin.router)
    root.include_router(subscriptions.router)
    root.include_router(rule_builder.router)  # before catalogue: a typed voice name is its
    root.include_router(rules.router)
    root.include_router(transfer.router)  # a bare /import waits for the next file
    root.include_router(videos.router)
    root.include_router(schedule.router)
    root.include_router(settings.router)
    root.include_router(digest.router)
    root.include_router(catalogue.router)
    root.include_router(inline.router)
    root.include_router(common.router)  # /start, /help and the fallbacks go last
    return root

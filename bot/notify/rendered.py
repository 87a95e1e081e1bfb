"""What a notice renders to: text, buttons and the link preview to show."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup

__all__ = ["Rendered"]


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    keyboard: InlineKeyboardMarkup | None = None
    preview_url: str | None = None  # shown as the link preview (a poster), else no preview

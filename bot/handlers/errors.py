"""The last word when a handler fails: logged once, the user gets a short apology, and a pressed
button is always answered (it would spin for half a minute otherwise)."""

from __future__ import annotations

import contextlib
import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

__all__ = ["apology", "on_error"]

log = logging.getLogger(__name__)


def apology() -> str:
    return _("Sorry, something went wrong on my side. Please try again in a minute.")


async def on_error(event: ErrorEvent) -> bool:
    """Registered on the root router: sees what every feature router let through."""
    update = event.update
    log.error(
        "update %s: unhandled %s",
        update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    # Telegram refusing the apology too must not raise again inside the error path.
    with contextlib.suppress(TelegramAPIError):
        if update.callback_query is not None:
            await update.callback_query.answer(apology(), show_alert=True)
        elif update.message is not None:
            await update.message.answer(apology())
    return True

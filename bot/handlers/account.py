"""/login (a two-step dialogue, or a pasted session), /cancel, /logout, /rss and /forget.

The login and the password are read once, their messages deleted at once (even when the
login fails), and only the session is kept, sealed (bot.crypto). Everything here acts on the
session of the Telegram user who speaks or presses, looked up by their id: never on anything
callback data could name. Logging in happens only in a private chat; in a group the bot offers
a button to the private chat, and never says whether someone is logged in.

This router is included first: while a password is awaited, every message in that chat is
the password and must be deleted, whatever it looks like.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
from typing import Literal, cast

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.accounts import SessionExpired, accounts_of
from bot.anilibria.errors import (
    AniLibriaError,
    EmptyCredentialsError,
    InvalidUserError,
    LoginError,
    UnauthorizedError,
    WrongPasswordError,
)
from bot.callbacks import ForgetCb, RssCb
from bot.handlers.permissions import may_manage
from bot.handlers.subscriptions import api_trouble
from bot.services import Services

__all__ = ["LoginForm", "private_chat_keyboard", "router"]

log = logging.getLogger(__name__)
router = Router(name="account")

# A PHPSESSID: letters, digits, "," and "-" (PHP's session.sid_bits_per_character 4..6).
_SESSION_TOKEN = re.compile(r"^[A-Za-z0-9,-]{16,128}$")
_MAX_LOGIN = 254
RssKind = Literal["rss", "atom", "json"]
_RSS_KINDS: dict[str, str] = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}


class LoginForm(StatesGroup):
    login = State()
    password = State()


def _is_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


def _user_id(message: Message) -> int:
    """Who speaks: in a private chat (the only place sessions are handled) the chat's user."""
    return message.from_user.id if message.from_user else message.chat.id


async def _delete(bot: Bot, message: Message) -> None:
    """Delete a message holding a secret; failing (no rights in a group) is only logged."""
    try:
        await bot.delete_message(message.chat.id, message.message_id)
    except TelegramAPIError as exc:
        log.warning("could not delete a message holding credentials: %s", exc.message)


async def private_chat_keyboard(bot: Bot, text: str, payload: str = "") -> InlineKeyboardMarkup:
    """One URL button that opens the private chat with the bot (with a /start payload)."""
    me = await bot.me()
    url = f"https://t.me/{me.username}" + (f"?start={payload}" if payload else "")
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=text, url=url)]])


async def _refuse_in_group(message: Message, bot: Bot, text: str, payload: str = "") -> None:
    keyboard = await private_chat_keyboard(bot, _("🔐 Open the private chat"), payload)
    await message.answer(text, reply_markup=keyboard)


def _linked_hint() -> str:
    return _("/favorites — your favorites, /rss — your feed link, /logout — unlink the account.")


# -- the dialogue (registered first: a password is always caught and deleted) ----------------


@router.message(LoginForm.password)
async def password_given(message: Message, state: FSMContext, services: Services, bot: Bot) -> None:
    text = message.text or ""
    if text.strip().split("@")[0] == "/cancel":
        await state.clear()
        await message.answer(_("Cancelled. Nothing was saved."))
        return
    await _delete(bot, message)
    if not text:
        await message.answer(_("Please send the password as text, or /cancel."))
        return
    login = str((await state.get_data()).get("login", ""))
    await state.clear()
    user_id = _user_id(message)
    try:
        result = await services.client.login(login, text)
    except WrongPasswordError:
        await message.answer(_("❌ Wrong password. Nothing was saved. Send /login to try again."))
        return
    except InvalidUserError:
        await message.answer(
            _(
                "❌ AniLibria knows no user with this login or e-mail. Nothing was saved. "
                "Send /login to try again."
            )
        )
        return
    except EmptyCredentialsError:
        await message.answer(
            _(
                "❌ The login or the password was empty. Nothing was saved. "
                "Send /login to try again."
            )
        )
        return
    except LoginError as exc:
        log.info("user %s: login refused (%s)", user_id, exc.key)
        await message.answer(
            _("❌ AniLibria refused the login. Nothing was saved. Send /login to try again.")
        )
        return
    except AniLibriaError as exc:
        log.warning("user %s: login.php failed: %s", user_id, exc)
        await message.answer(
            _(
                "⚠️ I could not reach the AniLibria site, so you are not logged in. "
                "Nothing was saved. Please try again later."
            )
        )
        return
    accounts = accounts_of(services)
    linked = await accounts.link(user_id, result.session, login)
    with contextlib.suppress(AniLibriaError, SessionExpired):
        await accounts.refresh_favorites(linked)
    await message.answer(
        _(
            "✅ Your AniLibria account <b>{login}</b> is linked. I deleted your messages with "
            "the login and the password and keep only an encrypted session."
        ).format(login=html.escape(login))
        + "\n"
        + _linked_hint()
    )


@router.message(LoginForm.login)
async def login_given(message: Message, state: FSMContext, bot: Bot) -> None:
    text = message.text or ""
    if text.startswith("/"):
        # Another command: the dialogue ends and the command runs as usual (/cancel included).
        await state.clear()
        if text.strip().split("@")[0] == "/cancel":
            await message.answer(_("Cancelled. Nothing was saved."))
            return
        raise SkipHandler
    await _delete(bot, message)
    login = text.strip()
    if not login:
        await message.answer(_("Please send your login or e-mail as text, or /cancel."))
        return
    await state.update_data(login=login[:_MAX_LOGIN])
    await state.set_state(LoginForm.password)
    await message.answer(
        _("Now send the password. I will delete that message as soon as I have read it.")
    )


@router.message(Command("cancel"))
async def cancel_command(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel."))
        return
    await state.clear()
    await message.answer(_("Cancelled."))


async def _begin_login(message: Message, state: FSMContext) -> None:
    await state.set_state(LoginForm.login)
    await message.answer(
        _(
            "Send me your AniLibria login or e-mail. I will delete your messages with the login "
            "and the password as soon as I have read them, and keep only an encrypted session. "
            "/cancel stops."
        )
    )


@router.message(CommandStart(deep_link=True, magic=F.args == "login"))
async def start_login(message: Message, state: FSMContext, bot: Bot) -> None:
    if not _is_private(message):
        await _refuse_in_group(message, bot, _("Log in only in a private chat with me."), "login")
        return
    await _begin_login(message, state)


async def _link_pasted(message: Message, services: Services, token: str) -> None:
    if not _SESSION_TOKEN.match(token):
        await message.answer(
            _(
                "That does not look like an AniLibria session. Send /login alone to log in "
                "with your login and password."
            )
        )
        return
    accounts = accounts_of(services)
    try:
        titles = await accounts.validate(token)
    except UnauthorizedError:
        await message.answer(
            _("❌ AniLibria does not accept this session (it may have expired). Nothing was saved.")
        )
        return
    except AniLibriaError:
        await message.answer(api_trouble())
        return
    user_id = _user_id(message)
    await accounts.link(user_id, token, None)
    await accounts.store_favorites(user_id, titles)
    await message.answer(
        _(
            "✅ An AniLibria session is linked. I deleted your message with it and keep it "
            "only encrypted."
        )
        + "\n"
        + _linked_hint()
    )


@router.message(Command("login"))
async def login_command(
    message: Message, command: CommandObject, state: FSMContext, services: Services, bot: Bot
) -> None:
    pasted = (command.args or "").strip()
    if not _is_private(message):
        if pasted:
            await _delete(bot, message)  # a session must not stay readable in a group
        await _refuse_in_group(
            message,
            bot,
            _(
                "Log in only in a private chat with me: there nobody else sees what you send. "
                "If you sent a session here, it may have been seen: log out of AniLibria on "
                "the site to end it."
            )
            if pasted
            else _("Log in only in a private chat with me."),
            "login",
        )
        return
    await state.clear()
    if pasted:
        await _delete(bot, message)
        await _link_pasted(message, services, pasted)
        return
    await _begin_login(message, state)


@router.message(Command("logout"))
async def logout_command(message: Message, state: FSMContext, services: Services, bot: Bot) -> None:
    if not _is_private(message):
        await _refuse_in_group(message, bot, _("Use /logout in a private chat with me."))
        return
    await state.clear()
    user_id = _user_id(message)
    if await accounts_of(services).unlink(user_id):
        await message.answer(_("Done: I deleted your AniLibria session. /login links it again."))
    else:
        await message.answer(_("You are not logged in. /login links your AniLibria account."))


# -- /rss ------------------------------------------------------------------------------------


def _rss_view(services: Services, session: str, kind: str) -> tuple[str, InlineKeyboardMarkup]:
    url = services.client.rss_url(cast(RssKind, kind), session)
    text = "\n".join(
        [
            _("📡 Your personal AniLibria feed ({format}):").format(format=_RSS_KINDS[kind]),
            f"<code>{html.escape(url)}</code>",
            "",
            _(
                "⚠️ This link carries your AniLibria session and identifies you: whoever has it "
                "can act on your account. Keep it to yourself."
            ),
        ]
    )
    row = [
        InlineKeyboardButton(
            text=("• " if key == kind else "") + label, callback_data=RssCb(kind=key).pack()
        )
        for key, label in _RSS_KINDS.items()
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=[row])


@router.message(Command("rss"))
async def rss_command(message: Message, services: Services, bot: Bot) -> None:
    if not _is_private(message):
        await _refuse_in_group(message, bot, _("Use /rss in a private chat with me."))
        return
    user_id = _user_id(message)
    linked = await accounts_of(services).session_of(user_id)
    if linked is None:
        await message.answer(_("You are not logged in. /login links your AniLibria account."))
        return
    text, keyboard = _rss_view(services, linked.session, "rss")
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(RssCb.filter())
async def rss_format_button(query: CallbackQuery, callback_data: RssCb, services: Services) -> None:
    message = query.message
    if (
        not isinstance(message, Message)
        or message.chat.type != ChatType.PRIVATE
        or message.chat.id != query.from_user.id
        or callback_data.kind not in _RSS_KINDS
    ):
        await query.answer(_("This button is no longer valid."))
        return
    linked = await accounts_of(services).session_of(query.from_user.id)
    if linked is None:
        await query.answer(_("You are not logged in. /login links your AniLibria account."))
        return
    text, keyboard = _rss_view(services, linked.session, callback_data.kind)
    await query.answer()
    with contextlib.suppress(TelegramBadRequest):  # the same format again: "not modified"
        await message.edit_text(text, reply_markup=keyboard)


# -- /forget ---------------------------------------------------------------------------------


def _forget_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("🗑 Yes, delete everything"),
                    callback_data=ForgetCb(confirm=True).pack(),
                ),
                InlineKeyboardButton(
                    text=_("Keep it"), callback_data=ForgetCb(confirm=False).pack()
                ),
            ]
        ]
    )


@router.message(Command("forget"))
async def forget_command(message: Message, bot: Bot) -> None:
    if not await may_manage(bot, message.chat, message.from_user):
        await message.answer(_("Only the group's admins can do this."))
        return
    if _is_private(message):
        text = _(
            "This deletes everything I keep about this chat: subscriptions, settings, the "
            "digest, messages waiting to be sent, and your AniLibria session. Delete it all?"
        )
    else:
        text = _(
            "This deletes everything I keep about this chat: subscriptions, settings, the "
            "digest and messages waiting to be sent. Delete it all?"
        )
    await message.answer(text, reply_markup=_forget_keyboard())


@router.callback_query(ForgetCb.filter())
async def forget_button(
    query: CallbackQuery,
    callback_data: ForgetCb,
    state: FSMContext,
    services: Services,
    bot: Bot,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer(_("This button is no longer valid."))
        return
    chat = message.chat
    private = chat.type == ChatType.PRIVATE
    if (private and chat.id != query.from_user.id) or not await may_manage(
        bot, chat, query.from_user
    ):
        await query.answer(_("Only the group's admins can do this."), show_alert=True)
        return
    if not callback_data.confirm:
        await query.answer()
        with contextlib.suppress(TelegramBadRequest):  # pressed twice, or the message is old
            await message.edit_text(_("Nothing was deleted."))
        return
    await state.clear()
    if private:
        await accounts_of(services).unlink(query.from_user.id)
    await services.chats.forget(chat.id)
    log.info("chat %s: forgotten on request", chat.id)
    await query.answer()
    done = (
        _("Done: I have deleted everything I kept about this chat and your AniLibria session.")
        if private
        else _("Done: I have deleted everything I kept about this chat.")
    )
    try:
        await message.edit_text(done)
    except TelegramBadRequest:  # too old to edit: say it in a new message instead
        await message.answer(done)

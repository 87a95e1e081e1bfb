"""/login (a one-time code, a two-step dialogue, or a pasted session), /cancel, /logout, /rss
and /forget.

Where the API links accounts by a one-time code (v1), /login shows a code the user enters on
the site, and no password passes through the chat; a login with the password stays available
as a fallback. The login and the password are read once, their messages deleted at once (even
when the login fails), and only the token is kept, sealed (bot.account.vault). Everything here
acts on the session of the Telegram user who speaks or presses, looked up by their id: never on
anything callback data could name. Logging in happens only in a private chat; in a group the bot
offers a button to the private chat, and never says whether someone is logged in.

This router is included first: while a password is awaited, every message in that chat is
the password and must be deleted, whatever it looks like.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import time

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.account.links import SessionExpired
from bot.anilibria import FeedLink
from bot.anilibria.errors import (
    AniLibriaError,
    EmptyCredentialsError,
    InvalidUserError,
    LoginError,
    UnauthorizedError,
    WrongPasswordError,
)
from bot.handlers.lookup import fetch_title, parse_title_ref
from bot.handlers.permissions import may_manage
from bot.handlers.services import Services
from bot.handlers.subscriptions import api_trouble
from bot.ui.callbacks import ForgetCb, LoginCb, RssCb
from bot.ui.text import title_label

__all__ = ["LoginForm", "private_chat_keyboard", "router"]

log = logging.getLogger(__name__)
router = Router(name="account")

# A v2 PHPSESSID (letters, digits, "," and "-") or a v1 token (base64 of an encrypted blob).
_SESSION_TOKEN = re.compile(r"^[A-Za-z0-9,+/=._-]{16,2048}$")
_MAX_LOGIN = 254


class LoginForm(StatesGroup):
    login = State()
    password = State()


def _own_private_message(query: CallbackQuery) -> Message | None:
    """The pressed message when it is in the presser's own private chat (where their secrets
    may be shown), else None."""
    message = query.message
    if (
        isinstance(message, Message)
        and message.chat.type == ChatType.PRIVATE
        and message.chat.id == query.from_user.id
    ):
        return message
    return None


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
        token = await services.account_api.log_in(login, text)
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
    accounts = services.accounts
    linked = await accounts.link(user_id, token, login)
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


async def _offer_code(chat_id: int, user_id: int, services: Services, bot: Bot) -> None:
    """Show a new one-time code; the watcher says "linked" or "expired" in this chat later."""
    language = get_i18n().current_locale

    async def say(text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
        try:
            await bot.send_message(chat_id, text, reply_markup=keyboard)
        except TelegramAPIError as exc:  # blocked meanwhile: nothing more to say
            log.info("user %s: could not report the login code's outcome: %s", user_id, exc)

    async def linked() -> None:
        with services.i18n.context(), services.i18n.use_locale(language):
            await say(_("✅ Your AniLibria account is linked.") + "\n" + _linked_hint())

    async def expired() -> None:
        with services.i18n.context(), services.i18n.use_locale(language):
            await say(
                _("⌛ The code has expired and your account is not linked."),
                InlineKeyboardMarkup(
                    inline_keyboard=[
                        [
                            InlineKeyboardButton(
                                text=_("🔄 A new code"),
                                callback_data=LoginCb(action="code").pack(),
                            )
                        ]
                    ]
                ),
            )

    try:
        code = await services.codes.start(user_id, linked, expired)
    except AniLibriaError as exc:
        log.warning("user %s: no login code: %s", user_id, exc)
        await bot.send_message(chat_id, api_trouble(), reply_markup=_password_keyboard())
        return
    minutes = max(1, round((code.expires_at - time.time()) / 60))
    text = "\n".join(
        [
            _("🔑 Your code: <code>{code}</code>").format(code=html.escape(code.code)),
            "",
            _(
                "Open the AniLibria site, log in there and enter this code on the page the "
                "button opens. The code is valid for {minutes} min; I will say here as soon "
                "as your account is linked. No password is needed in this chat."
            ).format(minutes=minutes),
        ]
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("🌐 Enter the code on the site"), url=code.link_url)],
            *_password_keyboard().inline_keyboard,
        ]
    )
    await bot.send_message(chat_id, text, reply_markup=keyboard)


def _password_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("🔑 Log in with a password instead"),
                    callback_data=LoginCb(action="password").pack(),
                )
            ]
        ]
    )


async def _login(message: Message, state: FSMContext, services: Services, bot: Bot) -> None:
    """The login the API offers: a one-time code (v1), else the login/password dialogue."""
    await state.clear()
    if services.account_api.supports_one_time_code:
        await _offer_code(message.chat.id, _user_id(message), services, bot)
        return
    await _begin_login(message, state)


@router.callback_query(LoginCb.filter())
async def login_button(
    query: CallbackQuery, callback_data: LoginCb, state: FSMContext, services: Services, bot: Bot
) -> None:
    message = _own_private_message(query)
    if message is None:
        await query.answer(_("This button is no longer valid."))
        return
    await query.answer()
    if callback_data.action == "password":
        services.codes.cancel(query.from_user.id)
        await _begin_login(message, state)
    else:
        await state.clear()
        await _offer_code(message.chat.id, query.from_user.id, services, bot)


@router.message(CommandStart(deep_link=True, magic=F.args == "login"))
async def start_login(message: Message, state: FSMContext, services: Services, bot: Bot) -> None:
    if not _is_private(message):
        await _refuse_in_group(message, bot, _("Log in only in a private chat with me."), "login")
        return
    await _login(message, state, services, bot)


async def _link_pasted(message: Message, services: Services, token: str) -> None:
    if not _SESSION_TOKEN.match(token):
        await message.answer(
            _(
                "That does not look like an AniLibria session. Send /login alone to log in "
                "with your login and password."
            )
        )
        return
    accounts = services.accounts
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
    await _login(message, state, services, bot)


@router.message(Command("logout"))
async def logout_command(message: Message, state: FSMContext, services: Services, bot: Bot) -> None:
    if not _is_private(message):
        await _refuse_in_group(message, bot, _("Use /logout in a private chat with me."))
        return
    await state.clear()
    user_id = _user_id(message)
    services.codes.cancel(user_id)
    if await services.accounts.unlink(user_id):
        await message.answer(_("Done: I deleted your AniLibria session. /login links it again."))
    else:
        await message.answer(_("You are not logged in. /login links your AniLibria account."))


# -- /rss ------------------------------------------------------------------------------------


def _rss_view(links: list[FeedLink], key: str) -> tuple[str, InlineKeyboardMarkup | None]:
    link = next((item for item in links if item.key == key), links[0])
    text = "\n".join(
        [
            _("📡 Your personal AniLibria feed ({format}):").format(format=link.label),
            f"<code>{html.escape(link.url)}</code>",
            "",
            _personal_warning(),
        ]
    )
    if len(links) < 2:
        return text, None
    row = [
        InlineKeyboardButton(
            text=("• " if item.key == link.key else "") + item.label,
            callback_data=RssCb(kind=item.key).pack(),
        )
        for item in links
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=[row])


def _personal_warning() -> str:
    return _(
        "⚠️ This link is personal: it carries your key and identifies you, and whoever has it "
        "can use it as you. Keep it to yourself."
    )


async def _feed_links(message: Message, services: Services, user_id: int) -> list[FeedLink]:
    """The user's feed links; [] after telling them why there are none."""
    linked = await services.accounts.session_of(user_id)
    if linked is None:
        await message.answer(_("You are not logged in. /login links your AniLibria account."))
        return []
    try:
        links = await services.accounts.call(linked, services.account_api.feed_links)
    except SessionExpired:
        return []  # the expiry notice is the answer
    except AniLibriaError as exc:
        log.warning("user %s: no feed links: %s", user_id, exc)
        await message.answer(api_trouble())
        return []
    if not links:  # v1: an account without a torrent passkey
        await message.answer(
            _("Your AniLibria account has no personal feed: it has no torrent passkey.")
        )
    return links


async def _title_feed(message: Message, services: Services, user_id: int, args: str) -> None:
    ref = parse_title_ref(args)
    linked = await services.accounts.session_of(user_id)
    feed_url = services.account_api.title_feed_url
    try:
        title = await fetch_title(services.catalogue, ref) if ref is not None else None
        url = None
        if title is not None and linked is not None:
            # With the session (v1 reads the passkey with it): a refused one is deleted.
            title_id = title.id
            url = await services.accounts.call(linked, lambda token: feed_url(token, title_id))
        elif title is not None:
            url = await feed_url(None, title.id)
    except SessionExpired:
        return  # the expiry notice is the answer
    except AniLibriaError:
        await message.answer(api_trouble())
        return
    if title is None:
        await message.answer(_("I could not find that title."))
        return
    if url is None:
        await message.answer(_("This AniLibria server has no torrent feed per title."))
        return
    lines = [
        _("📡 The torrent feed of <b>{name}</b>:").format(
            name=html.escape(title_label(title.names.main, title.names.english, title.name, 200))
        ),
        f"<code>{html.escape(url)}</code>",
    ]
    if linked is not None:
        lines += ["", _personal_warning()]
    await message.answer("\n".join(lines))


@router.message(Command("rss"))
async def rss_command(
    message: Message, command: CommandObject, services: Services, bot: Bot
) -> None:
    if not _is_private(message):
        await _refuse_in_group(message, bot, _("Use /rss in a private chat with me."))
        return
    user_id = _user_id(message)
    if (command.args or "").strip():
        await _title_feed(message, services, user_id, command.args or "")
        return
    links = await _feed_links(message, services, user_id)
    if not links:
        return
    text, keyboard = _rss_view(links, links[0].key)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(RssCb.filter())
async def rss_format_button(query: CallbackQuery, callback_data: RssCb, services: Services) -> None:
    message = _own_private_message(query)
    if message is None:
        await query.answer(_("This button is no longer valid."))
        return
    linked = await services.accounts.session_of(query.from_user.id)
    if linked is None:
        await query.answer(_("You are not logged in. /login links your AniLibria account."))
        return
    try:
        links = await services.accounts.call(linked, services.account_api.feed_links)
    except SessionExpired:
        await query.answer(_("Your AniLibria session has expired: /login again."), show_alert=True)
        return
    except AniLibriaError:
        await query.answer(api_trouble(), show_alert=True)
        return
    if not any(link.key == callback_data.kind for link in links):
        await query.answer(_("This button is no longer valid."))
        return
    text, keyboard = _rss_view(links, callback_data.kind)
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
        services.codes.cancel(query.from_user.id)
        await services.accounts.unlink(query.from_user.id)
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

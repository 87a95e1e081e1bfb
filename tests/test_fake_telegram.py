"""The fake Telegram Bot API server, driven by aiogram's real client session."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    ChatMemberAdministrator,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputMediaPhoto,
    InputTextMessageContent,
    Message,
    ReplyParameters,
)

from tests.fakes.telegram import FakeTelegram

TOKEN = "777000111:AAHfakeTokenForTests_0123456789abcdef"
CHAT = 4242


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()
    assert server.internal_errors == []


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.url))
    yield Bot(TOKEN, session=session)
    # close the client directly: AiohttpSession.close() sleeps 250 ms for TLS shutdown
    if session._session is not None:
        await session._session.close()


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(buttons)])


async def test_get_me(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert me.id == fake.bot_id == 777000111
    assert me.is_bot and me.username == "anilibria_test_bot"
    assert me.supports_inline_queries and me.can_join_groups
    [call] = fake.calls_of("getMe")
    assert call.token == TOKEN


async def test_send_message_round_trip_is_recorded(bot: Bot, fake: FakeTelegram) -> None:
    markup = keyboard(InlineKeyboardButton(text="Смотреть", callback_data="watch:1"))
    first = await bot.send_message(
        CHAT, "<b>Новая серия</b>, 5 из 12", parse_mode="HTML", reply_markup=markup
    )
    second = await bot.send_message(CHAT, "ещё", disable_notification=True, message_thread_id=7)

    assert isinstance(first, Message)
    assert first.text == "Новая серия, 5 из 12"
    assert first.entities is not None and first.entities[0].type == "bold"
    assert (first.entities[0].offset, first.entities[0].length) == (0, 11)
    assert first.from_user is not None and first.from_user.id == fake.bot_id
    assert first.chat.type == "private" and first.reply_markup is not None
    assert first.reply_markup.model_dump() == markup.model_dump()
    assert second.message_id == first.message_id + 1 and second.message_thread_id == 7

    [one, two] = fake.sent(CHAT)
    assert one.text == "<b>Новая серия</b>, 5 из 12" and one.plain_text == first.text
    assert one.parse_mode == "HTML" and one.method == "sendMessage"
    assert one.reply_markup == {
        "inline_keyboard": [[{"text": "Смотреть", "callback_data": "watch:1"}]]
    }
    assert one.buttons[0]["callback_data"] == "watch:1"
    assert two.disable_notification and two.message_thread_id == 7 and not one.disable_notification
    call = fake.calls_of("sendMessage", chat_id=CHAT)[0]
    assert call.params["chat_id"] == CHAT and isinstance(call.params["reply_markup"], dict)
    assert fake.sent(CHAT + 1) == []


async def test_group_chat_shape(bot: Bot, fake: FakeTelegram) -> None:
    message = await bot.send_message(-1001234567890, "hi")
    assert message.chat.type == "supergroup" and message.chat.title
    fake.set_chat(-42, chat_type="group", title="Аниме")
    message = await bot.send_message(-42, "hi")
    assert message.chat.type == "group" and message.chat.title == "Аниме"


@pytest.mark.parametrize(
    "text",
    [
        "Tom &amp; Jerry &lt;3 &gt; &quot;q&quot; &#128512; &#x1F600;",
        '<a href="https://anilibria.top/release?id=1&amp;ep=2">серия</a>',
        "<b>b <i>bi</i></b> <strong>s</strong> <em>e</em> <u>u</u> <ins>i</ins> <s>s</s> "
        "<strike>s</strike> <del>d</del> <tg-spoiler>sp</tg-spoiler> "
        '<span class="tg-spoiler">sp</span> <code>c</code> '
        '<pre><code class="language-python">print(1)</code></pre> '
        "<blockquote expandable>q</blockquote> <blockquote>q</blockquote> "
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> '
        '<tg-time unix="1767225600" format="wDT">1 января</tg-time>',
    ],
)
async def test_valid_html_passes(bot: Bot, fake: FakeTelegram, text: str) -> None:
    message = await bot.send_message(CHAT, text, parse_mode="HTML")
    assert message.text and "<b>" not in message.text and "&quot;" not in message.text
    assert fake.sent(CHAT)[0].text == text


async def test_html_entities_are_decoded(bot: Bot) -> None:
    message = await bot.send_message(
        CHAT, "a &lt;b&gt; &amp; &quot;c&quot; &#1071;", parse_mode="HTML"
    )
    assert message.text == 'a <b> & "c" Я'
    link = await bot.send_message(
        CHAT, '<a href="https://x.org/?a=1&amp;b=2">x</a>', parse_mode="HTML"
    )
    assert link.entities is not None and link.entities[0].url == "https://x.org/?a=1&b=2"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("<b>жирный", 'Can\'t find end tag corresponding to start tag "b"'),
        ("Tom & Jerry", 'Character "&"'),
        ("5 > 4", 'Character ">"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<a>no href</a>", 'Tag "a" must have attribute "href"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<br>", 'Unsupported start tag "br"'),
    ],
)
async def test_invalid_html_is_refused(bot: Bot, fake: FakeTelegram, text: str, error: str) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as caught:
        await bot.send_message(CHAT, text, parse_mode="HTML")
    assert error in caught.value.message
    assert caught.value.message.startswith("Bad Request: can't parse entities: ")
    assert fake.sent() == []


async def test_lenient_html_mode_accepts_what_telegram_accepts(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.strict_html = False
    message = await bot.send_message(CHAT, "Tom & Jerry > 4", parse_mode="HTML")
    assert message.text == "Tom & Jerry > 4"
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await bot.send_message(CHAT, "<script>", parse_mode="HTML")


async def test_text_limit_counts_parsed_text(bot: Bot, fake: FakeTelegram) -> None:
    tagged = "<b>ab</b><i>cd</i>" * 1000  # 18 000 characters of HTML, 4000 of text
    message = await bot.send_message(CHAT, tagged, parse_mode="HTML")
    assert message.text is not None and len(message.text) == 4000
    assert await bot.send_message(CHAT, "я" * 4096)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(CHAT, "я" * 4097)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, "<b>" + "x" * 4097 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(CHAT, " \n <b> </b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(CHAT, "")
    assert len(fake.sent(CHAT)) == 2


async def test_markdown_v2_reserved_characters(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(CHAT, "Серия 5. *Готово*", parse_mode="MarkdownV2")
    message = await bot.send_message(CHAT, "Серия 5\\. *Готово*", parse_mode="MarkdownV2")
    assert message.text == "Серия 5. Готово"
    assert message.entities is not None and message.entities[0].type == "bold"


async def test_inline_keyboard_validation(bot: Bot, fake: FakeTelegram) -> None:
    ok = await bot.send_message(
        CHAT, "x", reply_markup=keyboard(InlineKeyboardButton(text="ok", callback_data="я" * 32))
    )  # 64 bytes
    assert ok.reply_markup is not None
    for data in ("x" * 65, "я" * 33):
        markup = keyboard(InlineKeyboardButton(text="t", callback_data=data))
        with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
            await bot.send_message(CHAT, "x", reply_markup=markup)
    bad_buttons = [
        (InlineKeyboardButton(text="t", url="ftp://example.com"), "Wrong HTTP URL"),
        (InlineKeyboardButton(text="t", url="anilibria"), "is invalid"),
        (InlineKeyboardButton(text="", callback_data="x"), "Text must be non-empty"),
        (InlineKeyboardButton(text="t"), "Text buttons are unallowed"),
        (InlineKeyboardButton(text="t", url="https://a.b", callback_data="x"), "exactly one"),
    ]
    for button, error in bad_buttons:
        with pytest.raises(TelegramBadRequest, match=error):
            await bot.send_message(CHAT, "x", reply_markup=keyboard(button))
    tg_link = keyboard(InlineKeyboardButton(text="t", url="tg://resolve?domain=anilibria"))
    assert await bot.send_message(CHAT, "x", reply_markup=tg_link)
    assert len(fake.sent(CHAT)) == 2


async def test_blocked_chat_is_forbidden_before_validation(bot: Bot, fake: FakeTelegram) -> None:
    fake.block(CHAT)
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(CHAT, "hi")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(CHAT, "<oops>", parse_mode="HTML")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(CHAT, "typing")
    assert await bot.send_message(CHAT + 1, "other chats still work")
    fake.unblock(CHAT)
    assert await bot.send_message(CHAT, "hi again")
    assert [s.chat_id for s in fake.sent()] == [CHAT + 1, CHAT]


async def test_migrated_group(bot: Bot, fake: FakeTelegram) -> None:
    fake.migrate(-555, -1009990001)
    with pytest.raises(TelegramMigrateToChat) as caught:
        await bot.send_message(-555, "<broken", parse_mode="HTML")
    assert caught.value.migrate_to_chat_id == -1009990001
    assert "group chat was upgraded to a supergroup chat" in caught.value.message
    message = await bot.send_message(-1009990001, "hi")
    assert message.chat.id == -1009990001 and message.chat.type == "supergroup"


async def test_error_body_shape(fake: FakeTelegram) -> None:
    fake.migrate(-7, -1007)
    fake.fail_next("getMe", 502, "Bad Gateway")
    base = f"{fake.url}/bot{TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/sendMessage", data={"text": "x"}) as resp:
            assert resp.status == 400
            assert await resp.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat_id is empty",
            }
        async with http.post(f"{base}/sendMessage", data={"chat_id": "-7", "text": "x"}) as resp:
            assert await resp.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": -1007},
            }
        async with http.get(f"{base}/getMe") as resp:
            assert resp.status == 502
            assert await resp.json() == {
                "ok": False,
                "error_code": 502,
                "description": "Bad Gateway",
            }
        async with http.get(f"{base}/getMe") as resp:
            body = await resp.json()
            assert resp.status == 200 and body["ok"] is True and body["result"]["is_bot"] is True
        async with http.post(f"{base}/someFutureMethod", json={"chat_id": 1}) as resp:
            assert await resp.json() == {"ok": True, "result": True}
        async with http.get(f"{fake.url}/botnot-a-token/getMe") as resp:
            assert resp.status == 404
    assert fake.calls_of("someFutureMethod")[0].params == {"chat_id": 1}


async def test_fail_next_retry_after_and_server_error(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHAT, "x")
    assert caught.value.retry_after == 7
    assert await bot.send_message(CHAT, "x")  # only the next call failed

    fake.fail_next("sendMessage", 502, "Bad Gateway", times=2, chat_id=CHAT)
    assert await bot.send_message(CHAT + 1, "other chat is unaffected")
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(CHAT, "x")
    assert await bot.send_message(CHAT, "x")
    assert len(fake.calls_of("sendMessage")) == 6 and len(fake.sent()) == 3


async def test_get_updates_long_poll_returns_early_and_honours_offset(
    bot: Bot, fake: FakeTelegram
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5, request_timeout=10))
    await fake.wait_for(lambda: len(fake.calls_of("getUpdates")) == 1, message="no getUpdates")
    fake.message(CHAT, "/start@anilibria_test_bot ref", username="viewer")
    [update] = await poll
    assert time.monotonic() - started < 2
    assert update.message is not None and update.message.text == "/start@anilibria_test_bot ref"
    assert update.message.from_user is not None and update.message.from_user.username == "viewer"
    assert update.message.entities is not None
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start@anilibria_test_bot")

    # not confirmed yet: delivered again
    assert [u.update_id for u in await bot.get_updates()] == [update.update_id]
    assert await bot.get_updates(offset=update.update_id + 1) == []
    assert fake.pending_updates == []
    second, third = fake.message(CHAT, "a"), fake.message(CHAT, "b")
    got = await bot.get_updates(offset=update.update_id + 1, limit=1)
    assert [u.update_id for u in got] == [second["update_id"]]
    got = await bot.get_updates(offset=second["update_id"] + 1)
    assert [u.update_id for u in got] == [third["update_id"]]
    assert got[0].message is not None and got[0].message.message_id == 3


async def test_get_updates_waits_for_timeout(bot: Bot, fake: FakeTelegram) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3


async def test_get_updates_filters_and_conflicts(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(
        CHAT, "menu", reply_markup=keyboard(InlineKeyboardButton(text="a", callback_data="a"))
    )
    fake.message(CHAT, "hello")
    fake.callback(CHAT, "a")
    got = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in got] == [True]
    assert len(await bot.get_updates(allowed_updates=[])) == 2

    first = asyncio.create_task(
        bot.get_updates(offset=-1, timeout=5, allowed_updates=["inline_query"])
    )
    await fake.wait_for(lambda: len(fake.calls_of("getUpdates")) == 3)
    # a newer poll terminates the pending one, like Telegram (allowed_updates persist)
    assert len(await bot.get_updates(timeout=0, allowed_updates=[])) == 1
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first


async def test_callback_embeds_last_sent_message(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(CHAT, "first")
    markup = keyboard(InlineKeyboardButton(text="Серия 2", callback_data="ep:2"))
    sent = await bot.send_message(CHAT, "<i>Выберите</i>", parse_mode="HTML", reply_markup=markup)
    raw = fake.callback(CHAT, "ep:2")
    assert raw["callback_query"]["message"]["message_id"] == sent.message_id

    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "ep:2" and query.from_user.id == CHAT
    assert isinstance(query.message, Message)
    assert query.message.message_id == sent.message_id and query.message.text == "Выберите"
    assert query.message.reply_markup is not None
    assert query.message.reply_markup.model_dump() == markup.model_dump()
    assert query.message.entities is not None and query.message.entities[0].type == "italic"

    assert await bot.answer_callback_query(query.id, text="ok")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("123")


async def test_edits(bot: Bot, fake: FakeTelegram) -> None:
    markup = keyboard(InlineKeyboardButton(text="a", callback_data="a"))
    sent = await bot.send_message(CHAT, "<b>Серия</b> 1", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is not modified"):
        await bot.edit_message_text(
            "<b>Серия</b> 1",
            chat_id=CHAT,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=markup,
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=CHAT, message_id=sent.message_id, reply_markup=markup
        )
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=999)

    # same text, but without reply_markup the keyboard goes away: that is a modification
    edited = await bot.edit_message_text(
        "<b>Серия</b> 1", chat_id=CHAT, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message) and edited.reply_markup is None and edited.edit_date
    edited = await bot.edit_message_text("Серия 2", chat_id=CHAT, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.text == "Серия 2" and not edited.entities
    record = fake.sent(CHAT)[0]
    assert record.text == "Серия 2" and record.edit_count == 2 and record.reply_markup is None

    with pytest.raises(TelegramBadRequest, match="there is no caption"):
        await bot.edit_message_caption(chat_id=CHAT, message_id=sent.message_id, caption="c")
    assert await bot.edit_message_text("inline", inline_message_id="AgAAAC") is True

    assert await bot.delete_message(CHAT, sent.message_id)
    assert fake.deleted == [(CHAT, sent.message_id)] and record.deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=sent.message_id)


async def test_send_photo(bot: Bot, fake: FakeTelegram) -> None:
    poster = "https://anilibria.top/storage/posters/1.jpg"
    message = await bot.send_photo(CHAT, poster, caption="<b>Постер</b>", parse_mode="HTML")
    assert message.photo is not None and len(message.photo) > 1 and message.caption == "Постер"
    assert message.caption_entities is not None and message.caption_entities[0].type == "bold"
    again = await bot.send_photo(CHAT, message.photo[-1].file_id)
    assert (
        again.photo is not None
        and again.photo[-1].file_unique_id == message.photo[-1].file_unique_id
    )

    fake.refuse_photo_urls = True
    with pytest.raises(
        TelegramBadRequest, match="Bad Request: wrong file identifier/HTTP URL specified"
    ):
        await bot.send_photo(CHAT, poster)
    uploaded = await bot.send_photo(CHAT, BufferedInputFile(b"\x89PNG fake", filename="p.png"))
    assert uploaded.photo is not None
    assert fake.calls_of("sendPhoto")[-1].files == {"photo": b"\x89PNG fake"}
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(CHAT, "AgACunknownFileId")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message caption is too long"):
        await bot.send_photo(CHAT, message.photo[-1].file_id, caption="x" * 1025)
    assert [s.kind for s in fake.sent(CHAT)] == ["photo", "photo", "photo"]


async def test_send_document_upload_and_download(bot: Bot, fake: FakeTelegram) -> None:
    data = b"%PDF-1.4 episode list\n" * 100
    message = await bot.send_document(
        CHAT, BufferedInputFile(data, filename="list.pdf"), caption="Список"
    )
    assert message.document is not None and message.document.file_name == "list.pdf"
    assert message.document.mime_type == "application/pdf" and message.document.file_size == len(
        data
    )
    [call] = fake.calls_of("sendDocument")
    assert call.files == {"document": data} and call.params["document"].startswith("attach://")
    assert fake.sent(CHAT)[0].files == {"document": data} and fake.sent(CHAT)[0].text == "Список"

    file = await bot.get_file(message.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == data
    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(CHAT, message.document.file_id)


async def test_send_media_group(bot: Bot, fake: FakeTelegram) -> None:
    album = [
        InputMediaPhoto(
            media=BufferedInputFile(b"one", filename="1.jpg"), caption="<b>1</b>", parse_mode="HTML"
        ),
        InputMediaPhoto(media=BufferedInputFile(b"two", filename="2.jpg")),
    ]
    messages = await bot.send_media_group(CHAT, album)
    assert len(messages) == 2 and messages[0].media_group_id == messages[1].media_group_id
    assert messages[0].caption == "1" and messages[1].caption is None
    assert fake.calls_of("sendMediaGroup")[0].files == {"media[0]": b"one", "media[1]": b"two"}
    assert [s.files for s in fake.sent(CHAT)] == [{"photo": b"one"}, {"photo": b"two"}]
    with pytest.raises(TelegramBadRequest, match="wrong number of media"):
        await bot.send_media_group(CHAT, album[:1])


async def test_reply_to_unknown_message(bot: Bot, fake: FakeTelegram) -> None:
    fake.message(CHAT, "вопрос")
    reply = await bot.send_message(CHAT, "ответ", reply_parameters=ReplyParameters(message_id=1))
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "вопрос"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(CHAT, "x", reply_parameters=ReplyParameters(message_id=99))


async def test_rate_limit_global(bot: Bot, fake: FakeTelegram) -> None:
    fake.enforce_rate_limits()
    results = await asyncio.gather(
        *(bot.send_message(1000 + i, "burst") for i in range(40)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert refused and all(r.retry_after >= 1 for r in refused)
    assert all(isinstance(r, Message | TelegramRetryAfter) for r in results)
    assert fake.too_many_requests == len(refused) and len(fake.sent()) == 40 - len(refused) <= 31


async def test_rate_limit_paced_client_is_not_punished(bot: Bot, fake: FakeTelegram) -> None:
    fake.enforce_rate_limits()
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(35):  # 25 per second for 1.4 s
        await asyncio.sleep(max(0.0, start + i / 25 - loop.time()))
        await bot.send_message(2000 + i, "paced")
    assert fake.too_many_requests == 0 and len(fake.sent()) == 35


async def test_rate_limit_per_chat_and_group_window(bot: Bot, fake: FakeTelegram) -> None:
    now = [1000.0]
    fake.clock = lambda: now[0]
    fake.enforce_rate_limits()
    await bot.send_message(CHAT, "1")
    await bot.send_message(CHAT, "2")  # the +1 tolerance
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(CHAT, "3")
    now[0] += 1.0
    assert await bot.send_message(CHAT, "3 a second later")

    group = -1001000
    for _ in range(20):
        now[0] += 1.5
        await bot.send_message(group, "announcement")
    now[0] += 1.5
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(group, "21st within a minute")
    assert 1 <= caught.value.retry_after <= 60
    assert fake.too_many_requests == 2
    now[0] += caught.value.retry_after
    assert await bot.send_message(group, "after waiting")


async def test_inline_query(bot: Bot, fake: FakeTelegram) -> None:
    fake.inline_query(CHAT, "наруто", offset="")
    [update] = await bot.get_updates()
    assert update.inline_query is not None and update.inline_query.query == "наруто"

    def article(n: int) -> InlineQueryResultArticle:
        content = InputTextMessageContent(message_text=f"<b>{n}</b>", parse_mode="HTML")
        return InlineQueryResultArticle(id=str(n), title=f"#{n}", input_message_content=content)

    with pytest.raises(TelegramBadRequest, match="RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(update.inline_query.id, [article(n) for n in range(51)])
    with pytest.raises(TelegramBadRequest, match="NEXT_OFFSET_INVALID"):
        await bot.answer_inline_query(update.inline_query.id, [article(1)], next_offset="9" * 65)
    assert await bot.answer_inline_query(
        update.inline_query.id, [article(n) for n in range(50)], next_offset="50"
    )
    assert len(fake.calls_of("answerInlineQuery")[-1].params["results"]) == 50


async def test_my_chat_member_and_admins(bot: Bot, fake: FakeTelegram) -> None:
    fake.my_chat_member(CHAT, new_status="kicked", old_status="member")
    fake.my_chat_member(
        -100777, new_status="administrator", old_status="left", chat_type="supergroup"
    )
    updates = await bot.get_updates()
    kicked, promoted = (u.my_chat_member for u in updates)
    assert kicked is not None and kicked.new_chat_member.status == "kicked"
    assert promoted is not None and promoted.new_chat_member.status == "administrator"
    assert promoted.chat.type == "supergroup"
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(CHAT, "x")

    fake.set_admins(-100777, [11, 12])
    admins = await bot.get_chat_administrators(-100777)
    assert sorted(a.user.id for a in admins) == [11, 12]
    assert all(isinstance(a, ChatMemberAdministrator) for a in admins)
    assert isinstance(await bot.get_chat_member(-100777, 13), ChatMemberMember)
    assert isinstance(await bot.get_chat_member(-100777, 11), ChatMemberAdministrator)
    chat = await bot.get_chat(-100777)
    assert chat.id == -100777 and chat.type == "supergroup"


async def test_commands_and_menu(bot: Bot, fake: FakeTelegram) -> None:
    commands = [
        BotCommand(command="start", description="Начать"),
        BotCommand(command="list", description="Мои"),
    ]
    assert await bot.set_my_commands(
        commands, scope=BotCommandScopeAllPrivateChats(), language_code="ru"
    )
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    assert [c.command for c in got] == ["start", "list"]
    assert await bot.get_my_commands() == []
    assert fake.commands({"type": "all_private_chats"}, "ru")[0]["description"] == "Начать"
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Command", description="x")])
    assert await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    assert fake.commands({"type": "all_private_chats"}, "ru") == []
    assert await bot.set_chat_menu_button()
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""


async def test_raw_updates_topics_and_chat_action(bot: Bot, fake: FakeTelegram) -> None:
    with pytest.raises(LookupError):
        fake.callback(CHAT, "nothing was sent")
    edited = {
        "edited_message": {
            "message_id": 1,
            "date": 1,
            "edit_date": 2,
            "text": "x",
            "chat": {"id": CHAT, "type": "private", "first_name": "A"},
        }
    }
    raw = fake.edited_or_raw(edited)
    fake.message(
        -100500,
        "/list@anilibria_test_bot",
        chat_type="supergroup",
        title="Клуб",
        message_thread_id=3,
        is_topic_message=True,
        user_id=77,
    )
    first, second = await bot.get_updates()
    assert first.update_id == raw["update_id"] and first.edited_message is not None
    assert second.message is not None and second.message.is_topic_message
    assert second.message.chat.is_forum and second.message.chat.title == "Клуб"
    assert second.message.from_user is not None and second.message.from_user.id == 77

    reply = await bot.send_message(-100500, "в тему", message_thread_id=3)
    assert reply.message_thread_id == 3 and reply.is_topic_message
    assert await bot.send_chat_action(CHAT, "typing")
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(CHAT, "dancing")

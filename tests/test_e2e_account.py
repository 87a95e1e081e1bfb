"""The user's AniLibria account end to end: /login (dialogue and pasted session), /logout,
/favorites with its buttons, follow-my-favorites, expiry, /rss and /forget; and no session or
password in the database file, its WAL or the log. The bot runs as a process against the fakes.
"""

from __future__ import annotations

import asyncio

from bot.ui.callbacks import FavCb, FollowFavCb, ForgetCb, PageCb, RssCb, SubCb
from tests.chat import Chat, Pacer, assert_no_secrets, buttons, datas
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.anilibria_ws import playlist_update_frame
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll

USER_A = 1001
USER_B = 1002
USER_C = 1003
GROUP = -100777
MAIL_B = "b@example.com"
PASS_B = "b-Secret-Passphrase-42"
WRONG_PASS = "Wr0ng-Passw0rd-For-Test"
FAV_ID = 9001
FAV_NAME = "Избранный сериал"


def sessions_of(bot: BotProcess) -> dict[int, str | None]:
    return {row[0]: row[1] for row in bot.db("SELECT user_id, login FROM sessions")}


async def test_login_dialogue_failures_success_and_no_secrets(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    rest = anilibria.rest
    rest.accounts[MAIL_B] = PASS_B
    await bot.start()
    pacer = Pacer()

    async def dialogue(chat: Chat, login: str, password: str) -> str:
        _, [prompt] = await chat.say("/login")
        assert "login or e-mail" in (prompt.text or "")
        login_id, [ask] = await chat.say(login)
        assert "password" in (ask.text or "")
        password_id, [result] = await chat.say(password)
        # Both messages holding credentials are deleted, whatever the outcome.
        await poll(lambda: (chat.chat_id, password_id) in telegram.deleted)
        assert (chat.chat_id, login_id) in telegram.deleted
        return result.text or ""

    async def russian_and_cancel() -> None:
        """Russian by default; /cancel leaves the dialogue."""
        telegram.message(USER_C, "/login")
        [prompt_ru] = await telegram.wait_sent(USER_C)
        assert "логин" in (prompt_ru.text or "")
        _, [cancelled] = await Chat(telegram, pacer, USER_C).say("/cancel")
        assert "Cancelled" in (cancelled.text or "")
        _, [nothing] = await Chat(telegram, pacer, USER_C).say("/cancel")
        assert "nothing to cancel" in (nothing.text or "")

    mail = rest.DEFAULT_MAIL
    wrong, unknown, good, _ = await asyncio.gather(
        dialogue(Chat(telegram, pacer, 1011), mail, WRONG_PASS),
        dialogue(Chat(telegram, pacer, 1012), "nobody@example.com", WRONG_PASS),
        dialogue(Chat(telegram, pacer, USER_A), mail, rest.DEFAULT_PASSWORD),
        russian_and_cancel(),
    )
    assert "Wrong password" in wrong and "Nothing was saved" in wrong
    assert "knows no user" in unknown and "Nothing was saved" in unknown
    assert "is linked" in good and mail in good
    assert {"mail": mail, "passwd": rest.DEFAULT_PASSWORD} in rest.login_forms

    rest.fail("login", 200, {"err": "error", "mes": "Пустое значение", "key": "empty"})
    empty = await dialogue(Chat(telegram, pacer, 1013), mail, WRONG_PASS)
    assert "was empty" in empty
    rest.fail("login", 503, "<html><body>503 Service Unavailable</body></html>", times=3)
    down = await dialogue(Chat(telegram, pacer, 1014), mail, WRONG_PASS)
    assert "could not reach the AniLibria site" in down
    assert sessions_of(bot) == {USER_A: mail}  # none of the failures stored anything

    # The old site gives the session only as a cookie; it must not leak into A's next calls
    # either (the shared HTTP client keeps no cookies: B's login would answer "authorized").
    rest.login_sends_session_id = False
    chat_b = Chat(telegram, pacer, USER_B)
    assert "is linked" in await dialogue(chat_b, MAIL_B, PASS_B)
    assert sessions_of(bot) == {USER_A: mail, USER_B: MAIL_B}
    _, [listing] = await chat_b.say("/favorites")
    assert "favorites are empty" in (listing.text or "")

    assert len(rest.sessions) == 2
    assert_no_secrets(bot, [*rest.sessions, rest.DEFAULT_PASSWORD, PASS_B, WRONG_PASS])


async def test_group_refusal_pasted_session_and_logout(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    rest = anilibria.rest
    session = rest.new_session()
    stale = rest.new_session()
    rest.expire_session(stale)
    await bot.start()
    pacer = Pacer()
    group = Chat(telegram, pacer, GROUP, USER_A)
    private = Chat(telegram, pacer, USER_A)

    _, [refusal] = await group.say("/login")
    [button] = buttons(refusal)
    assert button["url"] == f"https://t.me/{telegram.username}?start=login"
    # A session pasted in a group is deleted at once (the bot is an admin) and not used.
    telegram.set_admins(GROUP, [telegram.bot_id, USER_A])
    pasted_id, [warning] = await group.say(f"/login {session}")
    assert (GROUP, pasted_id) in telegram.deleted
    assert "may have been seen" in (warning.text or "")
    assert sessions_of(bot) == {}

    # The deep link starts the dialogue in private; /cancel ends it.
    _, [prompt] = await private.say("/start login")
    assert "login or e-mail" in (prompt.text or "")
    await private.say("/cancel")

    for text, expected in [
        ("/login not a session!", "does not look like an AniLibria session"),
        (f"/login {stale}", "does not accept this session"),
        (f"/login {session}", "An AniLibria session is linked"),
    ]:
        message_id, [reply] = await private.say(text)
        assert expected in (reply.text or "")
        assert (USER_A, message_id) in telegram.deleted
    assert sessions_of(bot) == {USER_A: None}

    _, [group_rss] = await group.say("/rss")
    assert "private chat" in (group_rss.text or "")
    _, [bye] = await private.say("/logout")
    assert "deleted your AniLibria session" in (bye.text or "")
    assert sessions_of(bot) == {}
    _, [again] = await private.say("/logout")
    assert "not logged in" in (again.text or "")
    _, [no_rss] = await private.say("/rss")
    assert "not logged in" in (no_rss.text or "")
    assert all(session not in (m.text or "") for m in group.sent())
    assert_no_secrets(bot, [session, stale])


def favorite_catalogue(anilibria: FakeAniLibria) -> tuple[str, str]:
    """A's favorites: the 10 real titles and FAV_ID; B's: FAV_ID. Returns their sessions."""
    rest = anilibria.rest
    rest.add_title(rest.make_title(FAV_ID, "fav-show", FAV_NAME, "Favorite Show", episodes=3))
    rest.accounts[MAIL_B] = PASS_B
    rest.account_favorites[rest.DEFAULT_MAIL] = set(rest.titles) - {FAV_ID} | {FAV_ID}
    rest.account_favorites[MAIL_B] = {FAV_ID}
    return rest.new_session(), rest.new_session(MAIL_B)


async def push_episode(anilibria: FakeAniLibria, title_id: int, episode: int) -> None:
    title = anilibria.rest.add_episode(title_id, episode)
    for quality in ("sd", "hd", "fhd"):
        await anilibria.ws.push(
            playlist_update_frame(title_id, episode, quality, player=title["player"])  # type: ignore[arg-type]
        )


def notices(chat: Chat) -> list[str]:
    return [
        m.text or "" for m in chat.sent() if "🎬" in (m.text or "") and FAV_NAME in (m.text or "")
    ]


async def test_favorites_paging_buttons_follow_and_forged_presses(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    rest = anilibria.rest
    session_a, session_b = favorite_catalogue(anilibria)
    favorites_a = rest.account_favorites[rest.DEFAULT_MAIL]
    favorites_b = rest.account_favorites[MAIL_B]
    await bot.start()
    pacer = Pacer()
    chat_a, chat_b = Chat(telegram, pacer, USER_A), Chat(telegram, pacer, USER_B)
    await asyncio.gather(chat_a.say(f"/login {session_a}"), chat_b.say(f"/login {session_b}"))

    _, [listing] = await chat_a.say("/favorites")
    assert "11 titles" in (listing.text or "") and "Page 1 of 2" in (listing.text or "")
    page_two = PageCb(what="f", offset=8, token=str(USER_A)).pack()
    assert page_two in datas(listing)
    assert sum(d.startswith("fav:") for d in datas(listing)) == 8

    # Someone else cannot page A's list, nor change A's favorites with forged data.
    assert "belongs to someone else" in await chat_b.press(page_two)
    forged = FavCb(title_id=FAV_ID, add=False).pack()
    refused = await Chat(telegram, pacer, USER_A, USER_B).press(forged)  # B in A's chat
    assert "private chat" in refused
    assert "not logged in" in await Chat(telegram, pacer, USER_C).press(forged, message_id=1)
    some_a_title = min(favorites_a - {FAV_ID})
    await chat_b.press(FavCb(title_id=some_a_title, add=False).pack(), message_id=1)
    assert FAV_ID in favorites_a and some_a_title in favorites_a and favorites_b == {FAV_ID}

    await chat_a.press(page_two, message_id=listing.message_id)
    await poll(lambda: "Page 2 of 2" in (chat_a.sent()[-1].text or ""), message="page 2")
    removable = [d for d in datas(chat_a.sent()[-1]) if d.startswith("fav:")]
    assert len(removable) == 3
    victim = FavCb.unpack(removable[0]).title_id
    assert "Removed" in await chat_a.press(removable[0], message_id=listing.message_id)
    assert victim not in favorites_a
    # delFavorite with A's session: once (B's press above used B's own session).
    assert uses(rest.requests, session_a, "/v2/delFavorite") == 1
    await poll(
        lambda: FavCb(title_id=victim, add=True).pack() in datas(chat_a.sent()[-1]),
        message="the remove button to turn into an add button",
    )
    assert (victim,) not in bot.db("SELECT title_id FROM favorites WHERE user_id = ?", (USER_A,))

    # A title card in private offers remove/add for a favorite, and a press flips it; a card
    # in a group shows no favorites button at all.
    other = min(favorites_a - {FAV_ID, victim})
    _, [card] = await chat_a.say(f"/title {other}")
    remove_other = FavCb(title_id=other, add=False).pack()
    assert remove_other in datas(card)
    assert "Removed" in await chat_a.press(remove_other, message_id=card.message_id)
    assert other not in favorites_a
    await poll(lambda: FavCb(title_id=other, add=True).pack() in datas(chat_a.sent()[-1]))
    assert "Added" in await chat_a.press(
        FavCb(title_id=other, add=True).pack(), message_id=card.message_id
    )
    assert other in favorites_a

    # Subscribe to the favorite title from the list, then follow all favorites in this chat.
    _, [listing] = await chat_a.say("/favorites")
    subscribe = SubCb(title_id=FAV_ID, on=True, ctx="f").pack()
    if subscribe not in datas(listing):
        await chat_a.press(page_two, message_id=listing.message_id)
        await poll(lambda: subscribe in datas(chat_a.sent()[-1]), message="the subscribe button")
    await chat_a.press(subscribe, message_id=listing.message_id)
    await poll(lambda: bot.db("SELECT 1 FROM subscriptions WHERE chat_id = ?", (USER_A,)))
    await chat_a.press(FollowFavCb(on=True).pack(), message_id=listing.message_id)
    assert bot.db("SELECT follow_favorites_of FROM chats WHERE id = ?", (USER_A,)) == [(USER_A,)]

    # In a group: no remove buttons; an admin makes the group follow their favorites.
    telegram.set_admins(GROUP, [USER_A])
    group_a = Chat(telegram, pacer, GROUP, USER_A)
    _, [group_listing] = await group_a.say("/favorites")
    assert not any(d.startswith("fav:") for d in datas(group_listing))
    _, [group_card] = await group_a.say(f"/title {other}")
    assert datas(group_card) and not any(d.startswith("fav:") for d in datas(group_card))
    assert "admins" in await Chat(telegram, pacer, GROUP, USER_C).press(FollowFavCb(on=True).pack())
    await group_a.press(FollowFavCb(on=True).pack())
    assert bot.db("SELECT follow_favorites_of FROM chats WHERE id = ?", (GROUP,)) == [(USER_A,)]

    # A new episode of the favorite: once in A's chat (subscribed AND following), once in the
    # group; B follows nothing, so B gets nothing.
    await push_episode(anilibria, FAV_ID, 4)
    await poll(lambda: notices(chat_a) and notices(group_a), message="the favorites notices")
    await bot.barrier()
    await bot.settled()
    assert len(notices(chat_a)) == 1 and len(notices(group_a)) == 1 and notices(chat_b) == []
    assert_no_secrets(bot, [session_a, session_b, rest.DEFAULT_PASSWORD])


async def test_expired_session_is_deleted_and_told_once(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    rest = anilibria.rest
    session_a, session_b = favorite_catalogue(anilibria)
    bot.extra_env["FAVORITES_REFRESH_SECONDS"] = "0.3"
    await bot.start()
    pacer = Pacer()
    chat_a, chat_b = Chat(telegram, pacer, USER_A), Chat(telegram, pacer, USER_B)
    await asyncio.gather(chat_a.say(f"/login {session_a}"), chat_b.say(f"/login {session_b}"))
    await chat_b.say("/favorites")
    await chat_b.press(FollowFavCb(on=True).pack())

    # A's session expires; A's next command finds out: deleted, and A is told once.
    rest.expire_session(session_a)
    telegram.message(USER_A, "/favorites", language_code="en")
    await poll(lambda: USER_A not in sessions_of(bot), message="A's session to be deleted")
    await poll(lambda: told(chat_a) == 1, message="A to be told")
    _, [after] = await chat_a.say("/favorites")
    assert "not logged in" in (after.text or "")

    # B's session expires with nobody asking: the refresher finds out, deletes it, tells once.
    await poll(lambda: uses(rest.requests, session_b) >= 3, message="refresh rounds for B")
    rest.expire_session(session_b)
    await poll(lambda: USER_B not in sessions_of(bot), message="B's session to be deleted")
    await poll(lambda: told(chat_b) == 1, message="B to be told")
    stale_uses = uses(rest.requests, session_b)

    # B logs in again: B's chat still follows B's favorites, and the rounds go on with the new
    # session only; nobody is told twice.
    session_b2 = rest.new_session(MAIL_B)
    await chat_b.say(f"/login {session_b2}")
    await poll(lambda: uses(rest.requests, session_b2) >= 4, message="refresh rounds for B again")
    assert uses(rest.requests, session_b) == stale_uses
    assert told(chat_a) == 1 and told(chat_b) == 1
    assert bot.db("SELECT user_id FROM favorites") == [(USER_B,)]
    assert_no_secrets(bot, [session_a, session_b, session_b2])


def uses(requests: list[tuple[str, str, dict[str, str]]], session: str, path: str = "") -> int:
    """How many API requests carried `session` (to `path`, if given)."""
    return sum(
        1
        for _, where, query in requests
        if query.get("session") == session and where.endswith(path)
    )


def texts(chat: Chat) -> list[str]:
    return [m.text or "" for m in chat.sent()]


def told(chat: Chat) -> int:
    return sum("no longer accepts the session" in t for t in texts(chat))


async def test_rss_link_and_forget(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    session_a, _ = favorite_catalogue(anilibria)
    await bot.start()
    pacer = Pacer()
    chat_a = Chat(telegram, pacer, USER_A)
    await chat_a.say(f"/login {session_a}")

    _, [rss] = await chat_a.say("/rss")
    assert f"session={session_a}" in (rss.text or "") and "rss_type=rss" in (rss.text or "")
    assert "identifies you" in (rss.text or "")
    await chat_a.press(RssCb(kind="atom").pack())
    await poll(lambda: "rss_type=atom" in (chat_a.sent()[-1].text or ""), message="atom link")
    assert f"session={session_a}" in (chat_a.sent()[-1].text or "")

    # /forget in a group: admins only; it forgets the group, not A's session.
    telegram.set_admins(GROUP, [USER_A])
    group_a, group_c = Chat(telegram, pacer, GROUP, USER_A), Chat(telegram, pacer, GROUP, USER_C)
    await group_a.say(f"/subscribe {FAV_ID}")
    _, [denied] = await group_c.say("/forget")
    assert "admins" in (denied.text or "")
    _, [confirm] = await group_a.say("/forget")
    assert ForgetCb(confirm=True).pack() in datas(confirm)
    assert "admins" in await group_c.press(ForgetCb(confirm=True).pack())
    await group_a.press(ForgetCb(confirm=True).pack())
    await poll(lambda: not bot.db("SELECT 1 FROM chats WHERE id = ?", (GROUP,)))
    assert bot.db("SELECT COUNT(*) FROM subscriptions WHERE chat_id = ?", (GROUP,)) == [(0,)]
    assert USER_A in sessions_of(bot)

    # In private: "keep it" keeps everything; yes deletes the chat and the session.
    await chat_a.say(f"/subscribe {FAV_ID}")
    _, [confirm] = await chat_a.say("/forget")
    assert "your AniLibria session" in (confirm.text or "")
    await chat_a.press(ForgetCb(confirm=False).pack())
    await poll(lambda: "Nothing was deleted" in (chat_a.sent()[-1].text or ""))
    assert USER_A in sessions_of(bot)
    _, [confirm] = await chat_a.say("/forget")
    await chat_a.press(ForgetCb(confirm=True).pack())
    await poll(lambda: not bot.db("SELECT 1 FROM chats WHERE id = ?", (USER_A,)))
    assert sessions_of(bot) == {}
    assert bot.db("SELECT COUNT(*) FROM subscriptions") == [(0,)]
    assert all(session_a not in (m.text or "") for m in group_a.sent())
    assert_no_secrets(bot, [session_a])

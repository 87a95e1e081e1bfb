"""The AniLibria account on v1, end to end: the bot as a process against the fake v1 server.

/login shows a one-time code with a button to ``<site>/app/auth/otp/linkDevice``; the user
enters it on the site (the fake's ``accept_otp``) and the bot says "linked"; the token is kept
sealed (not in the raw database, its WAL or the log). An expired code offers a new one with a
button; the password fallback deletes the password message at once. A token the API refuses with
401 or 403 on ``/accounts/*`` is deleted, the user told once, and it is never sent again. /rss
gives the torrent RSS with the user's passkey and the warning, /rss ID a title's feed.
(Login and favorites on both upstreams: tests/test_e2e_upstreams.py.)
"""

from __future__ import annotations

import signal

from bot.ui.callbacks import FollowFavCb, LoginCb
from tests.chat import Chat, Pacer, assert_no_secrets, datas, urls
from tests.fakes.aniliberty import FakeAniLiberty
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.upstreams import V1Upstream

USER_A = 9701
USER_B = 9702
USER_C = 9703
TITLE_ID = 9710
CODE_PATH = "/app/auth/otp/linkDevice"
EXPIRED = "no longer accepts the session"


def sessions(bot: BotProcess) -> list[int]:
    return [row[0] for row in bot.db("SELECT user_id FROM sessions ORDER BY user_id")]


def told(chat: Chat) -> int:
    return sum(EXPIRED in (m.text or "") for m in chat.sent())


async def test_one_time_code_its_expiry_and_the_password_fallback(
    v1_bot: BotProcess, telegram: FakeTelegram, aniliberty: FakeAniLiberty
) -> None:
    fake = aniliberty
    user_b = fake.add_user("second", "second-Passphrase-77")
    user_c = fake.add_user("third", "third-Passphrase-99", email="third@example.com")
    await v1_bot.start()
    pacer = Pacer()
    chat_a, chat_b, chat_c = (Chat(telegram, pacer, u) for u in (USER_A, USER_B, USER_C))

    # The code, how long it lasts, the site's page and the password fallback.
    _, [offer] = await chat_a.say("/login")
    otp = fake.latest_otp()
    assert otp is not None
    assert f"<code>{otp.code}</code>" in (offer.text or "") and "2 min" in (offer.text or "")
    assert urls(offer) == [f"{fake.site_url}{CODE_PATH}"]
    assert LoginCb(action="password").pack() in datas(offer)
    assert v1_bot.db("SELECT device_id FROM login_devices WHERE user_id = ?", (USER_A,)) == [
        (otp.device_id,)
    ]
    # The user enters it on the site; the bot was asking and says so.
    asked = fake.count("/accounts/otp/login")
    fake.accept_otp(otp.code, fake.default_user_id)
    [linked] = (await telegram.wait_sent(USER_A, 2, timeout=10))[1:]
    assert "account is linked" in (linked.text or "")
    assert fake.count("/accounts/otp/login") > asked
    assert sessions(v1_bot) == [USER_A]
    [(sealed,)] = v1_bot.db("SELECT ciphertext FROM sessions WHERE user_id = ?", (USER_A,))
    [token_a] = fake.tokens_of(fake.default_user_id)
    assert token_a.encode() not in bytes(sealed)

    # A code that expires before it is entered: said once, with a button for a new one.
    _, [offer] = await chat_b.say("/login")
    stale = fake.latest_otp()
    assert stale is not None
    fake.expire_otp(stale.code)
    [expired] = (await telegram.wait_sent(USER_B, 2, timeout=10))[1:]
    assert "code has expired" in (expired.text or "")
    assert datas(expired) == [LoginCb(action="code").pack()]
    await chat_b.press(LoginCb(action="code").pack(), message_id=expired.message_id)
    [offer] = (await telegram.wait_sent(USER_B, 3))[2:]
    fresh = fake.latest_otp()
    assert fresh is not None and fresh.code != stale.code
    assert f"<code>{fresh.code}</code>" in (offer.text or "")
    assert urls(offer) == [f"{fake.site_url}{CODE_PATH}"]
    fake.accept_otp(fresh.code, user_b)
    [linked] = (await telegram.wait_sent(USER_B, 4, timeout=10))[3:]
    assert "account is linked" in (linked.text or "")
    assert sum("code has expired" in (m.text or "") for m in chat_b.sent()) == 1

    # The password instead: the code stops being asked about; the password message is deleted
    # before the bot answers it.
    _, [offer] = await chat_c.say("/login")
    abandoned = fake.latest_otp()
    assert abandoned is not None
    await chat_c.press(LoginCb(action="password").pack(), message_id=offer.message_id)
    await poll(lambda: "login or e-mail" in (chat_c.sent()[-1].text or ""), message="prompt")
    login_id, [ask] = await chat_c.say("third@example.com")
    assert "password" in (ask.text or "")
    password_id, [done] = await chat_c.say("third-Passphrase-99")
    assert "is linked" in (done.text or "") and "third@example.com" in (done.text or "")
    assert {(USER_C, login_id), (USER_C, password_id)} <= set(telegram.deleted)
    calls = telegram.calls
    deleted_at = next(
        i
        for i, call in enumerate(calls)
        if call.method == "deleteMessage" and call.params.get("message_id") == password_id
    )
    answered_at = next(
        i
        for i, call in enumerate(calls)
        if call.method == "sendMessage" and call.params.get("chat_id") == USER_C and i > deleted_at
    )
    assert deleted_at < answered_at
    assert not [
        r
        for r in fake.requests_to("/accounts/otp/login")
        if r.time > done_time(fake) and str(r.body.get("code")) == abandoned.code.lstrip("0")
    ]
    assert sessions(v1_bot) == [USER_A, USER_B, USER_C]

    await v1_bot.barrier()
    secrets = [
        *(
            token
            for user in (fake.default_user_id, user_b, user_c)
            for token in fake.tokens_of(user)
        ),
        *(fake.users[u].password for u in (fake.default_user_id, user_b, user_c)),
    ]
    assert len(secrets) == 6
    assert_no_secrets(v1_bot, secrets)
    assert await v1_bot.stop(signal.SIGTERM) == 0


def done_time(fake: FakeAniLiberty) -> float:
    """When the password login reached the fake."""
    return fake.requests_to("/accounts/users/auth/login")[-1].time


async def test_refused_tokens_are_deleted_told_once_and_never_sent_again_and_rss(
    v1_bot: BotProcess, telegram: FakeTelegram, aniliberty: FakeAniLiberty
) -> None:
    fake = aniliberty
    fake.add_release(TITLE_ID, "feed-show", "Лента", "Feed Show", episodes=3)
    fake.add_favorite(fake.default_user_id, TITLE_ID)
    v1_bot.extra_env["FAVORITES_REFRESH_SECONDS"] = "0.3"
    driver = V1Upstream(fake)
    await v1_bot.start()
    pacer = Pacer()
    chat_a = Chat(telegram, pacer, USER_A)
    assert "is linked" in await driver.log_in(chat_a)
    passkey = fake.users[fake.default_user_id].passkey

    # An account without a torrent passkey has no personal feed: the bot says so.
    fake.users[fake.default_user_id].passkey = ""
    _, [none] = await chat_a.say("/rss")
    assert "no torrent passkey" in (none.text or "")
    fake.users[fake.default_user_id].passkey = passkey

    # /rss: the torrent RSS with the passkey, and the warning; /rss ID: that title's feed.
    _, [rss] = await chat_a.say("/rss")
    text = rss.text or ""
    assert f"{fake.api_url}/anime/torrents/rss?pk={passkey}" in text
    assert "This link is personal" in text
    _, [feed] = await chat_a.say(f"/rss {TITLE_ID}")
    text = feed.text or ""
    assert "Feed Show" in text and "This link is personal" in text
    assert f"{fake.api_url}/anime/torrents/rss/release/{TITLE_ID}?pk={passkey}" in text

    # A follows their favorites here, so the refresher uses the token every 0.3 s; the site
    # refuses it (401): deleted, A told once, and the token never sent again.
    _, [listing] = await chat_a.say("/favorites")
    await chat_a.press(FollowFavCb(on=True).pack(), message_id=listing.message_id)
    [token_a] = fake.tokens_of(fake.default_user_id)
    fake.expire_token(token_a)
    await poll(lambda: told(chat_a) == 1, message="A to be told")
    assert sessions(v1_bot) == []
    refused = len([r for r in fake.requests if r.authed])
    await v1_bot.barrier()
    _, [after] = await chat_a.say("/favorites")
    assert "not logged in" in (after.text or "")
    _, [after] = await chat_a.say(f"/rss {TITLE_ID}")
    assert "pk=" not in (after.text or "")
    await v1_bot.barrier()
    assert len([r for r in fake.requests if r.authed]) == refused, "the dead token was sent"
    assert told(chat_a) == 1

    # B, who follows nothing, links; the site now answers 403 to a dead token; B's /rss ID
    # (the title feed reads the passkey with the token) finds out.
    user_b = fake.add_user("second", "second-Passphrase-77")
    chat_b = Chat(telegram, pacer, USER_B)
    await chat_b.say("/login")
    otp = fake.latest_otp()
    assert otp is not None
    fake.accept_otp(otp.code, user_b)
    await poll(lambda: sessions(v1_bot) == [USER_B], message="B linked")
    await v1_bot.settled()
    fake.auth_failure_status = 403
    [token_b] = fake.tokens_of(user_b)
    fake.expire_token(token_b)
    telegram.message(USER_B, f"/rss {TITLE_ID}", language_code="en")
    await poll(lambda: told(chat_b) == 1, message="B to be told")
    assert sessions(v1_bot) == []
    refused = len([r for r in fake.requests if r.authed])
    _, [after] = await chat_b.say("/rss")
    assert "not logged in" in (after.text or "")
    await v1_bot.barrier()
    await v1_bot.settled()
    assert len([r for r in fake.requests if r.authed]) == refused, "the dead token was sent"
    assert told(chat_a) == 1 and told(chat_b) == 1
    assert_no_secrets(v1_bot, [token_a, token_b, passkey, fake.users[user_b].passkey])
    assert await v1_bot.stop(signal.SIGTERM) == 0

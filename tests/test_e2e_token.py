"""A token revoked while the bot runs (issue 10, item 4), the bot as a process.

Telegram answers 401 to everything once @BotFather revokes the token. The notices that were
being sent must not be parked: delivery pauses with one log line, the rows stay due, and once
the token works again (here: the fake accepts it again) every notice goes out exactly once.
Before, each 401 fell into "unexpected failure" and parked its row for good.
"""

from __future__ import annotations

from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.notify_helpers import add_show, notice_counts, push_episode, subscribe

TITLE = 9701
FANS = (5701, 5702, 5703)


async def test_a_revoked_token_pauses_delivery_until_it_works_again(
    bot: BotProcess, telegram: FakeTelegram, anilibria: FakeAniLibria
) -> None:
    add_show(anilibria, TITLE, episodes=3)
    await bot.start()
    for fan in FANS:
        await subscribe(telegram, fan, TITLE)

    telegram.revoke_token()
    tried = len(telegram.calls_of("sendMessage"))
    await push_episode(anilibria, TITLE, 4)
    await poll(
        lambda: len(telegram.calls_of("sendMessage")) > tried, message="a send refused with 401"
    )

    def states() -> list[tuple[str, int]]:
        return bot.db(
            "SELECT state, COUNT(*) FROM outbox WHERE dedupe_key = ? GROUP BY state",
            (f"ep:{TITLE}:4",),
        )

    await poll(lambda: states() == [("pending", len(FANS))], message="the rows kept, due")
    assert bot.log().count("refuses the bot token") == 1
    assert notice_counts(telegram, TITLE, 4) == {}

    telegram.restore_token()
    await poll(
        lambda: set(notice_counts(telegram, TITLE, 4)) == set(FANS),
        timeout=45,  # the getMe probe backs off to 30 s at most
        message="every notice once the token works",
    )
    await poll(lambda: states() == [("sent", len(FANS))], message="the rows marked sent")
    assert notice_counts(telegram, TITLE, 4) == {fan: 1 for fan in FANS}
    log = bot.log()
    assert log.count("refuses the bot token") == 1
    assert log.count("accepts the bot token again") == 1
    assert await bot.stop() == 0

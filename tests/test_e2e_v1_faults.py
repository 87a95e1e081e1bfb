"""AniLiberty v1 misbehaving, end to end: the bot as a process keeps polling the fake v1 server
through a 429 with ``Retry-After`` (no poll before it elapses: the fake's request times say so),
Cloudflare's 503 HTML pages, connection resets and a failing read of a followed release; it backs
off (the gaps between failed requests grow, never at the poll interval), says so in the log once
per outage, and news still arrives afterwards, once. And between the faults it polls politely:
one conditional request per poll (304 when nothing changed), with a User-Agent and gzip.
"""

from __future__ import annotations

import itertools
import signal

from tests.chat import Chat, Pacer
from tests.fakes.aniliberty import FakeAniLiberty, Recorded
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll
from tests.upstreams import POLL_INTERVAL

FAN = 9601
TITLE_ID = 9610
LATEST = "/anime/releases/latest"


def gaps(requests: list[Recorded]) -> list[float]:
    return [b.time - a.time for a, b in itertools.pairwise(requests)]


async def test_rate_limits_server_errors_and_resets_are_survived(
    v1_bot: BotProcess, telegram: FakeTelegram, aniliberty: FakeAniLiberty
) -> None:
    fake = aniliberty
    fake.add_release(TITLE_ID, "faulty-show", "Сбой", "Faulty Show", episodes=2)
    await v1_bot.start()
    fan = Chat(telegram, Pacer(), FAN)
    await fan.say("/subscribe faulty-show")

    def notices(episode: int) -> list[str]:
        return [
            m.text or ""
            for m in fan.sent()
            if (m.text or "").startswith("🎬") and f"Episode {episode} is out" in (m.text or "")
        ]

    async def news_after_the_fault(episode: int, timeout: float = 20) -> None:
        fake.add_episode(TITLE_ID, episode)
        await poll(lambda: notices(episode), timeout=timeout, message=f"episode {episode}")

    # 429 with Retry-After: 3 s (longer than the client waits inside one call): the next poll
    # comes no sooner.
    fake.fail(LATEST, 429, retry_after=3)
    await poll(lambda: any(r.status == 429 for r in fake.requests_to(LATEST)), message="429")
    await news_after_the_fault(3)
    [limited] = [r for r in fake.requests_to(LATEST) if r.status == 429]
    following = [r for r in fake.requests_to(LATEST) if r.time > limited.time]
    assert following[0].time - limited.time >= 2.95, "polled before Retry-After elapsed"

    # Cloudflare's 503 page five times in a row: retried with a growing backoff.
    start = len(fake.requests_to(LATEST))
    fake.fail(LATEST, 503, times=5)
    await news_after_the_fault(4)
    failed = [r for r in fake.requests_to(LATEST)[start:] if r.status == 503]
    assert len(failed) == 5
    assert min(gaps(failed)) > POLL_INTERVAL * 1.25 and max(gaps(failed)) >= 1.0, gaps(failed)

    # Five connection resets (no answer at all): the same.
    start = len(fake.requests_to(LATEST))
    fake.reset(LATEST, times=5)
    await news_after_the_fault(5)
    reset = fake.requests_to(LATEST)[start:][:5]
    assert all(r.status is None for r in reset)
    assert min(gaps(reset)) > POLL_INTERVAL * 1.25 and max(gaps(reset)) >= 1.0, gaps(reset)

    # The followed release's own read fails on every retry of one poll: it stays pending and
    # is read again at the next one.
    release = f"/anime/releases/{TITLE_ID}"
    fake.fail(release, 503, times=4)
    await news_after_the_fault(6)
    assert [r.status for r in fake.requests_to(release)][-5:] == [503, 503, 503, 503, 200]

    await v1_bot.barrier()
    await v1_bot.settled()
    assert [len(notices(n)) for n in (3, 4, 5, 6)] == [1, 1, 1, 1]
    log = v1_bot.log()
    assert log.count("AniLiberty feed failing") == 4, "once per outage"
    assert log.count("AniLiberty feed recovered") == 4

    # Between faults: polite polling. A User-Agent and gzip on every request; with nothing
    # changing, one conditional request per poll, answered 304.
    polls_before = len(fake.requests_to(LATEST))
    await v1_bot.barrier()
    calm = fake.requests_to(LATEST)[polls_before:]
    assert calm and all(r.status == 304 for r in calm)
    assert all(r.headers.get("If-None-Match") for r in calm)
    since = fake.requests[-len(calm) :]
    assert all(r.path.endswith(LATEST) for r in since), "a quiet poll is one request"
    for r in fake.requests:
        assert r.headers.get("User-Agent", "").startswith("anilibria-bot"), r.headers
        assert "gzip" in r.headers.get("Accept-Encoding", ""), r.headers
    assert await v1_bot.stop(signal.SIGTERM) == 0

"""When the sender may pay for a broadcast: the threshold, the daily cap, the Stars refusal."""

from __future__ import annotations

import datetime as dt

from bot.notify.paid import STATE_KEY, PaidBroadcast, PaidBudget, is_out_of_stars

NOON = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC).timestamp()


def budget(clock: list[float], **config: object) -> PaidBudget:
    return PaidBudget(
        PaidBroadcast(**{"enabled": True, "after": 60.0, "max_per_day": 3, **config}),  # type: ignore[arg-type]
        clock=lambda: clock[0],
    )


def test_pays_only_while_the_backlog_is_longer_than_the_threshold() -> None:
    paid = budget([NOON])
    assert not paid.want(1740, 29.1) and not paid.take()  # 59.8 s at the free rate
    assert paid.want(1750, 29.1) and paid.take()
    paid.settle(sent=True)
    assert not paid.want(100, 29.1) and not paid.take()
    assert not budget([NOON], enabled=False).want(10**6, 29.1)


def test_the_daily_cap_counts_sends_in_flight_and_resets_at_midnight() -> None:
    clock = [NOON]
    paid = budget(clock)
    paid.want(10**6, 29.1)
    assert [paid.take() for _ in range(4)] == [True, True, True, False]
    paid.settle(sent=False)  # refused or failed: not charged, the place is free again
    assert paid.take()
    for _ in range(3):
        paid.settle(sent=True)
    assert paid.capped and not paid.take() and paid.state() == (STATE_KEY, "2025-03-01 3")
    clock[0] += 12 * 3600
    assert paid.today == 0 and paid.take()


def test_the_count_survives_a_restart_the_same_day_only() -> None:
    paid = budget([NOON])
    paid.load("2025-03-01 2")
    assert paid.today == 2
    other = budget([NOON])
    other.load("2025-02-28 3")
    assert other.today == 0


def test_a_stars_refusal_switches_paying_off_once() -> None:
    paid = budget([NOON])
    paid.want(10**6, 29.1)
    assert paid.out_of_stars() and not paid.out_of_stars()
    assert not paid.active and not paid.want(10**6, 29.1) and not paid.take()


def test_telegram_words_for_too_few_stars() -> None:
    assert is_out_of_stars("Bad Request: BALANCE_TOO_LOW")
    assert is_out_of_stars("Bad Request: not enough Stars to send paid broadcast")
    assert not is_out_of_stars("Bad Request: message is too long")
    assert not is_out_of_stars("Bad Request: chat not found")

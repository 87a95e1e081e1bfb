"""The log filter: redacts the token and recent sessions, and its memory stays bounded."""

from __future__ import annotations

import logging

from bot.logs import MAX_LEARNED, RedactingFilter, add_secret, setup_logging

TOKEN = "123456789:AAE-secret-token"


def _record(text: str) -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, text, None, None)


def _redacted(flt: RedactingFilter, text: str) -> str:
    record = _record(text)
    flt.filter(record)
    return record.getMessage()


def test_learned_secrets_are_bounded_and_the_token_is_never_dropped() -> None:
    flt = RedactingFilter([TOKEN], max_learned=100)
    for number in range(10_000):
        flt.learn(f"session-{number:05d}-abcdef")
    assert len(flt.secrets) == 101  # the token and the 100 most recent sessions
    assert "***" in _redacted(flt, f"url /bot{TOKEN}/getMe")
    assert _redacted(flt, "saw session-09999-abcdef") == "saw ***"
    assert _redacted(flt, "saw session-00000-abcdef") == "saw session-00000-abcdef"


def test_learning_again_keeps_a_session_in_use() -> None:
    flt = RedactingFilter([], max_learned=3)
    flt.learn("keep-me-1")
    for other in ("other-a", "other-b", "other-c"):
        flt.learn("keep-me-1")  # used again: the most recent
        flt.learn(other)
    assert "keep-me-1" in flt.secrets and "other-a" not in flt.secrets


def test_add_secret_reaches_the_installed_filter_and_stays_bounded() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        setup_logging("INFO", secrets=[TOKEN])
        for number in range(MAX_LEARNED * 3):
            add_secret(f"sess-{number}")
            add_secret(f"sess-{number}")  # repeated: no duplicate
        [handler] = root.handlers
        [flt] = [f for f in handler.filters if isinstance(f, RedactingFilter)]
        assert len(flt.secrets) == MAX_LEARNED + 1
        assert flt.secrets[0] == TOKEN
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)

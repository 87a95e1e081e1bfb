"""Logging that never prints a secret.

httpx logs every request URL at INFO, and AniLibria's user methods carry `session=` in the query
string; aiogram's errors can carry the bot token in URLs. A filter on the root handler redacts
both, whoever logs them, and httpx is quieted to WARNING.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Iterable

__all__ = ["RedactingFilter", "add_secret", "redact", "setup_logging"]

MAX_LEARNED = 1000  # sessions the filter remembers (the most recently used)

_SESSION = re.compile(r"(?i)(session(?:id)?[=:]\s*\"?)[^&\s\"',;]+")
_PHPSESSID = re.compile(r"(?i)(PHPSESSID=)[^;\s]+")
_PASSWD = re.compile(r"(?i)(passw(?:or)?d[=:]\s*\"?)[^&\s\"',;]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    text = _SESSION.sub(r"\1***", text)
    text = _PHPSESSID.sub(r"\1***", text)
    text = _PASSWD.sub(r"\1***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    """Redacts the fixed secrets (the bot token) and the most recently learned ones.

    Learned secrets (sessions the bot opened) are kept up to ``max_learned``, least recently
    learned dropped first: a session in use is learned again on every use, so the set stays
    small however many sessions the bot has ever seen. The `session=` pattern above still
    redacts a dropped one wherever it appears in that form.
    """

    def __init__(self, secrets: Iterable[str] = (), max_learned: int = MAX_LEARNED) -> None:
        super().__init__()
        self.fixed = [s for s in secrets if s]
        self.max_learned = max_learned
        self._learned: OrderedDict[str, None] = OrderedDict()

    @property
    def secrets(self) -> list[str]:
        return [*self.fixed, *reversed(self._learned)]

    def learn(self, secret: str) -> None:
        if not secret or secret in self.fixed:
            return
        self._learned[secret] = None
        self._learned.move_to_end(secret)
        while len(self._learned) > self.max_learned:
            self._learned.popitem(last=False)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        secrets = self.secrets
        cleaned = redact(message, secrets)
        record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        return True


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "websockets", "aiohttp.access", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def add_secret(secret: str) -> None:
    """Teach every redacting handler a secret (a session the bot just used); cheap to repeat."""
    for handler in logging.getLogger().handlers:
        for flt in handler.filters:
            if isinstance(flt, RedactingFilter):
                flt.learn(secret)

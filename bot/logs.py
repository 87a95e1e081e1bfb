"""Logging that never prints a secret.

httpx logs every request URL at INFO, and AniLibria's user methods carry `session=` in the query
string; aiogram's errors can carry the bot token in URLs. A filter on the root handler redacts
both, whoever logs them, and httpx is quieted to WARNING.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["RedactingFilter", "add_secret", "redact", "setup_logging"]

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
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned = redact(message, self.secrets)
        record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
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
    """Teach every redacting handler one more secret (a session the bot just learned)."""
    for handler in logging.getLogger().handlers:
        for flt in handler.filters:
            if isinstance(flt, RedactingFilter) and secret:
                flt.secrets.append(secret)

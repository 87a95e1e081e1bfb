"""Hiding v1's secrets in text that may be logged or shown: tokens and torrent passkeys.

:func:`bot.anilibria.errors.redact` covers v2's sessions and passwords; v1 adds a Bearer token
(sent in a header, but an echo of it could land in an error body), ``"token": "..."`` JSON pairs
and the passkey of a torrent or RSS URL (``pk=...``, ``passkey``).
"""

from __future__ import annotations

import re

from bot.anilibria.errors import redact

__all__ = ["hide"]

_V1_SECRET_RE = re.compile(
    r"(?P<name>\b(?:pk|passkey|token|access_token)\b[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<value>[^&\s\"';,#]+)",
    re.IGNORECASE,
)
_BEARER_RE = re.compile(r"(?P<name>\bBearer\s+)(?P<value>[^\s\"',;]+)", re.IGNORECASE)


def hide(text: str) -> str:
    """``text`` with every session, password, token and passkey value replaced by ``***``."""
    text = _V1_SECRET_RE.sub(lambda m: m.group("name") + "***", text)
    text = _BEARER_RE.sub(lambda m: m.group("name") + "***", text)
    return redact(text)

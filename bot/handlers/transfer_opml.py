"""An OPML 2.0 list of torrent RSS feeds, for torrent clients that download from RSS."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from email.utils import format_datetime

__all__ = ["build_opml"]


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def build_opml(
    title: str, entries: Sequence[tuple[str, str, str]], now: dt.datetime | None = None
) -> bytes:
    """`entries`: (name, feed URL, the title's page) each; every value escaped."""
    now = now or dt.datetime.now(dt.UTC)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_attr(title)}</title>",
        f"    <dateCreated>{format_datetime(now)}</dateCreated>",
        "  </head>",
        "  <body>",
    ]
    for name, feed, page in entries:
        lines.append(
            f'    <outline type="rss" text="{_attr(name)}" title="{_attr(name)}"'
            f' xmlUrl="{_attr(feed)}" htmlUrl="{_attr(page)}"/>'
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")

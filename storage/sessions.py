"""Sessions of linked AniLibria accounts (sealed before they come here), mirrored favorites.

The session is a password-equivalent: this module only ever sees the ciphertext the bot's vault
made of it. The favorites mirror exists so that the matcher can find "chats following a user's
favorites" inside its own transaction, without an API call per event.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from storage.db import Database
from storage.outbox import Outbox, Priority

__all__ = ["SessionRepo", "StoredSession"]


@dataclass(frozen=True, slots=True)
class StoredSession:
    user_id: int
    ciphertext: bytes
    login: str | None

    def __repr__(self) -> str:  # the ciphertext is no secret, but keep logs short and boring
        return f"StoredSession(user_id={self.user_id}, login={self.login!r})"


class SessionRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, user_id: int, ciphertext: bytes, login: str | None) -> None:
        await self.db.execute(
            "INSERT INTO sessions (user_id, ciphertext, login, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET ciphertext = excluded.ciphertext,"
            " login = excluded.login, created_at = excluded.created_at",
            (user_id, ciphertext, login, int(time.time())),
        )

    async def device_id(self, user_id: int) -> str:
        """The user's login device id (made once, then kept): what v1's one-time codes need."""
        await self.db.execute(
            "INSERT OR IGNORE INTO login_devices (user_id, device_id, created_at) VALUES (?, ?, ?)",
            (user_id, f"tg-bot-{secrets.token_hex(12)}", int(time.time())),
        )
        value = await self.db.scalar(
            "SELECT device_id FROM login_devices WHERE user_id = ?", (user_id,)
        )
        return str(value)

    async def get(self, user_id: int) -> StoredSession | None:
        row = await self.db.fetchone(
            "SELECT user_id, ciphertext, login FROM sessions WHERE user_id = ?", (user_id,)
        )
        return None if row is None else StoredSession(row[0], bytes(row[1]), row[2])

    async def reseal(self, stored: StoredSession, ciphertext: bytes) -> StoredSession:
        """Replace the ciphertext (the same session under a newer key) unless the row changed
        meanwhile (relinked, unlinked, expired): the stored session as it now stands."""
        changed = await self.db.execute(
            "UPDATE sessions SET ciphertext = ? WHERE user_id = ? AND ciphertext = ?",
            (ciphertext, stored.user_id, stored.ciphertext),
        )
        return StoredSession(stored.user_id, ciphertext, stored.login) if changed else stored

    async def sealed(self) -> list[tuple[int, bytes]]:
        """Every stored (user_id, ciphertext): the start-up check that the keys still open them."""
        rows = await self.db.fetchall("SELECT user_id, ciphertext FROM sessions")
        return [(row[0], bytes(row[1])) for row in rows]

    async def delete(self, user_id: int) -> bool:
        """Forget the session and its favorites; chats following them stop doing so."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            await conn.execute("DELETE FROM login_devices WHERE user_id = ?", (user_id,))
            await conn.execute(
                "UPDATE chats SET follow_favorites_of = NULL WHERE follow_favorites_of = ?",
                (user_id,),
            )
            return cursor.rowcount > 0

    async def expire(
        self,
        user_id: int,
        ciphertext: bytes,
        *,
        notice_kind: str,
        dedupe_key: str,
        payload: Mapping[str, Any] | None = None,
    ) -> bool:
        """The API refused this session: delete it and queue one notice to the user's private
        chat, in one transaction. Only the very ciphertext that failed is deleted (a fresh login
        made meanwhile survives), so of concurrent failures exactly one returns True and tells.

        Chats keep following the user's favorites (the mirror is emptied with the session): when
        the user logs in again, their notices resume without setting anything up again.
        """
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM sessions WHERE user_id = ? AND ciphertext = ?", (user_id, ciphertext)
            )
            if cursor.rowcount <= 0:
                return False
            async with conn.execute(
                "SELECT 1 FROM chats WHERE id = ? AND type = 'private' AND active = 1", (user_id,)
            ) as cur:
                has_private_chat = await cur.fetchone() is not None
            if has_private_chat:
                await Outbox.enqueue_for_chat(
                    conn,
                    chat_id=user_id,
                    kind=notice_kind,
                    payload=payload or {},
                    dedupe_key=dedupe_key,
                    priority=Priority.MESSAGE,
                )
            return True

    async def users_followed_by_chats(self) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT c.follow_favorites_of FROM chats c"
            " JOIN sessions s ON s.user_id = c.follow_favorites_of"
            " WHERE c.active = 1"
        )
        return [int(row[0]) for row in rows]

    async def replace_favorites(self, user_id: int, title_ids: Iterable[int]) -> None:
        """Mirror the user's favorites; nothing happens when the session is gone meanwhile."""
        ids = sorted(set(title_ids))
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM favorites WHERE user_id = ?", (user_id,))
            await conn.executemany(
                "INSERT INTO favorites (user_id, title_id)"
                " SELECT ?, ? WHERE EXISTS (SELECT 1 FROM sessions WHERE user_id = ?)",
                [(user_id, title_id, user_id) for title_id in ids],
            )

    async def favorite_ids(self, user_id: int) -> set[int]:
        rows = await self.db.fetchall(
            "SELECT title_id FROM favorites WHERE user_id = ?", (user_id,)
        )
        return {int(row[0]) for row in rows}

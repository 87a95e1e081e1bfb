"""Encryption at rest for AniLibria sessions: a session is as good as the user's password.

AES-256-GCM from ``cryptography``. The Telegram user id is bound in as associated data, so a
ciphertext copied into another user's row does not open: one user's session can never become
another user's.

Keys, newest first. SECRET_KEY, when set, is a comma-separated list: the first key seals, every
key opens (rotation: ``SECRET_KEY=NEW,OLD``, and old sessions move to NEW as they are used).
Each entry is a ready 32-byte urlsafe-base64 key (e.g. a Fernet key, used as is) or any other
text without a comma (stretched with scrypt). When SECRET_KEY is unset, the key comes from a
0600 file beside the database, generated on first start; that file may list several keys, one a
line, newest first. A key file left over from before SECRET_KEY was set is still read, so
setting SECRET_KEY later loses no session.

Stored form: ``b"\\x02" + 8-byte key id + 12-byte nonce + ciphertext-and-tag``; the key id (a
hash of the key, not the key) says which key sealed it. The first form, ``b"\\x01" + nonce +
ciphertext-and-tag``, is still opened (by trying each key) and is re-sealed when used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["KEY_FILE_NAME", "SessionVault", "VaultError", "key_file_for", "key_from_secret"]

log = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"
_V1 = b"\x01"  # nonce + ciphertext: which key sealed it is not recorded
_V2 = b"\x02"  # key id + nonce + ciphertext
_KEY_ID_BYTES = 8
_NONCE_BYTES = 12
_TAG_BYTES = 16
_KEY_BYTES = 32
_SCRYPT_SALT = b"anilibria-bot/session-vault/v1"


class VaultError(Exception):
    """A stored session this key cannot open: another key, another user's row, or tampering."""


def _decode_key(text: str) -> bytes | None:
    """32 bytes from urlsafe (or standard) base64 text, or None when the text is no such key."""
    candidate = text.strip()
    if len(candidate) != 44:
        return None
    for decode in (base64.urlsafe_b64decode, base64.standard_b64decode):
        try:
            raw = decode(candidate.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            continue
        if len(raw) == _KEY_BYTES:
            return raw
    return None


def key_from_secret(secret: str) -> bytes:
    """A ready key is used as is; a passphrase is stretched (scrypt, fixed salt)."""
    ready = _decode_key(secret)
    if ready is not None:
        return ready
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=_SCRYPT_SALT, n=2**14, r=8, p=1, dklen=_KEY_BYTES
    )


def keys_from_secret(secret: str) -> list[bytes]:
    """SECRET_KEY's keys, newest first. A list of passphrases may have been one passphrase
    with commas before lists were read, so the whole of it is kept last, for opening only."""
    parts = [part.strip() for part in secret.split(",") if part.strip()]
    keys = [key_from_secret(part) for part in parts]
    if len(parts) > 1 and not any(_decode_key(part) for part in parts):
        keys.append(key_from_secret(secret))
    return keys


def key_file_for(database_path: Path) -> Path:
    return Path(database_path).parent / KEY_FILE_NAME


def load_or_create_key_file(path: Path) -> list[bytes]:
    """Read the keys, or create the file with one key (mode 0600, atomically: two starts
    cannot race)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.urlsafe_b64encode(key).decode("ascii") + "\n")
    log.info("generated a new session encryption key in %s", path)
    return [key]


def _read_key_file(path: Path) -> list[bytes]:
    """Every key in the file, one a line, newest first (blank lines and # comments skipped)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o): set to 0600", path, mode)
        path.chmod(0o600)
    keys: list[bytes] = []
    for number, line in enumerate(path.read_text("ascii", errors="replace").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key = _decode_key(line)
        if key is None:
            raise VaultError(f"{path} line {number} is not a key (32 bytes, urlsafe base64)")
        keys.append(key)
    if not keys:
        raise VaultError(f"{path} holds no key (32 bytes, urlsafe base64)")
    return keys


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"anilibria-bot/session-key-id\x00" + key).digest()[:_KEY_ID_BYTES]


class SessionVault:
    """Seals with the newest key, opens with any. Never logs or shows a key or a session."""

    def __init__(self, key: bytes, *older: bytes) -> None:
        unique: dict[bytes, AESGCM] = {}
        for one in (key, *older):
            if len(one) != _KEY_BYTES:
                raise ValueError("a session key must be 32 bytes")
            unique.setdefault(_key_id(one), AESGCM(one))
        self._keys = unique  # key id -> cipher, newest first
        self._newest = next(iter(unique))

    def __repr__(self) -> str:
        return (
            "SessionVault(key=***)"
            if len(self._keys) == 1
            else (f"SessionVault(keys=*** x{len(self._keys)})")
        )

    @property
    def key_count(self) -> int:
        return len(self._keys)

    @classmethod
    def from_secret(cls, secret: str) -> SessionVault:
        keys = keys_from_secret(secret)
        if not keys:
            raise VaultError("SECRET_KEY holds no key")
        return cls(*keys)

    @classmethod
    def from_key_file(cls, path: Path) -> SessionVault:
        return cls(*load_or_create_key_file(path))

    @classmethod
    def from_settings(cls, secret_key: str | None, database_path: Path) -> SessionVault:
        """SECRET_KEY's keys when set (then the key file's, if there is one, open too), else
        the key file beside the database."""
        key_file = key_file_for(database_path)
        if secret_key and secret_key.strip():
            keys = keys_from_secret(secret_key)
            if not keys:
                raise VaultError("SECRET_KEY holds no key")
            if key_file.exists():
                keys += _read_key_file(key_file)
            return cls(*keys)
        return cls.from_key_file(key_file)

    @staticmethod
    def _associated(user_id: int) -> bytes:
        return f"anilibria-session:user:{user_id}".encode("ascii")

    def seal(self, user_id: int, session: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        aead = self._keys[self._newest]
        sealed = aead.encrypt(nonce, session.encode("utf-8"), self._associated(user_id))
        return _V2 + self._newest + nonce + sealed

    def open(self, user_id: int, ciphertext: bytes) -> str:
        """The session (VaultError when no configured key opens it for this user)."""
        if (
            ciphertext[:1] == _V2
            and len(ciphertext) >= 1 + _KEY_ID_BYTES + _NONCE_BYTES + _TAG_BYTES
        ):
            key_id = ciphertext[1 : 1 + _KEY_ID_BYTES]
            aead = self._keys.get(key_id)
            if aead is None:
                raise VaultError("the stored session was sealed with a key that is not configured")
            candidates = [aead]
            body = ciphertext[1 + _KEY_ID_BYTES :]
        elif ciphertext[:1] == _V1 and len(ciphertext) >= 1 + _NONCE_BYTES + _TAG_BYTES:
            candidates = list(self._keys.values())
            body = ciphertext[1:]
        else:
            raise VaultError("not a sealed session")
        nonce, sealed = body[:_NONCE_BYTES], body[_NONCE_BYTES:]
        for aead in candidates:
            try:
                plain = aead.decrypt(nonce, sealed, self._associated(user_id))
            except InvalidTag:
                continue
            return plain.decode("utf-8")
        raise VaultError("the stored session does not open with the configured keys")

    def opens(self, user_id: int, ciphertext: bytes) -> bool:
        try:
            self.open(user_id, ciphertext)
        except VaultError:
            return False
        return True

    def needs_reseal(self, ciphertext: bytes) -> bool:
        """True when the ciphertext was not sealed with the newest key (an older key, or the
        first form): whoever just opened it should store ``seal()`` of it instead."""
        return ciphertext[:1] != _V2 or ciphertext[1 : 1 + _KEY_ID_BYTES] != self._newest

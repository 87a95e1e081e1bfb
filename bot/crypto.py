"""Encryption at rest for AniLibria sessions: a session is as good as the user's password.

AES-256-GCM from ``cryptography``. The Telegram user id is bound in as associated data, so a
ciphertext copied into another user's row does not open: one user's session can never become
another user's. The key comes from SECRET_KEY when it is set (a ready 32-byte urlsafe-base64
key, e.g. a Fernet key, is used as is; any other text is stretched with scrypt), else from a key
generated on first start into a 0600 file beside the database and reused afterwards.

Stored form: ``b"\\x01" + 12-byte nonce + ciphertext-and-tag``.
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

__all__ = ["KEY_FILE_NAME", "SessionVault", "VaultError", "key_file_for"]

log = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"
_VERSION = b"\x01"
_NONCE_BYTES = 12
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


def key_file_for(database_path: Path) -> Path:
    return Path(database_path).parent / KEY_FILE_NAME


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key, or create it (mode 0600, created atomically: two starts cannot race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.urlsafe_b64encode(key).decode("ascii") + "\n")
    log.info("generated a new session encryption key in %s", path)
    return key


def _read_key_file(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o): set to 0600", path, mode)
        path.chmod(0o600)
    key = _decode_key(path.read_text("ascii", errors="replace"))
    if key is None:
        raise VaultError(f"{path} does not hold a key (32 bytes, urlsafe base64)")
    return key


class SessionVault:
    """Seals and opens sessions. Never logs or shows the key or a session."""

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise ValueError("the session key must be 32 bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SessionVault(key=***)"

    @classmethod
    def from_secret(cls, secret: str) -> SessionVault:
        return cls(key_from_secret(secret))

    @classmethod
    def from_key_file(cls, path: Path) -> SessionVault:
        return cls(load_or_create_key_file(path))

    @classmethod
    def from_settings(cls, secret_key: str | None, database_path: Path) -> SessionVault:
        """SECRET_KEY when set (and not blank), else the key file beside the database."""
        if secret_key and secret_key.strip():
            return cls.from_secret(secret_key)
        return cls.from_key_file(key_file_for(database_path))

    @staticmethod
    def _associated(user_id: int) -> bytes:
        return f"anilibria-session:user:{user_id}".encode("ascii")

    def seal(self, user_id: int, session: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, session.encode("utf-8"), self._associated(user_id))
        return _VERSION + nonce + sealed

    def open(self, user_id: int, ciphertext: bytes) -> str:
        if len(ciphertext) < 1 + _NONCE_BYTES + 16 or ciphertext[:1] != _VERSION:
            raise VaultError("not a sealed session")
        nonce = ciphertext[1 : 1 + _NONCE_BYTES]
        try:
            plain = self._aead.decrypt(
                nonce, ciphertext[1 + _NONCE_BYTES :], self._associated(user_id)
            )
        except InvalidTag:
            raise VaultError("the stored session does not open with this key") from None
        return plain.decode("utf-8")

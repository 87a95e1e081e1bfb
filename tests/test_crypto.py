"""SessionVault: sessions sealed at rest, bound to their user, with a key from SECRET_KEY or a
0600 key file beside the database."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.crypto import KEY_FILE_NAME, SessionVault, VaultError, key_from_secret

SESSION = "0123456789abcdef0123456789abcdef"


def test_round_trip_hides_the_session() -> None:
    vault = SessionVault.from_secret("a long operator passphrase")
    sealed = vault.seal(42, SESSION)
    assert SESSION.encode() not in sealed
    assert vault.open(42, sealed) == SESSION
    # A fresh nonce every time: the same session never seals to the same bytes.
    assert vault.seal(42, SESSION) != sealed


def test_a_row_copied_to_another_user_does_not_open() -> None:
    vault = SessionVault.from_secret("secret")
    sealed = vault.seal(42, SESSION)
    with pytest.raises(VaultError):
        vault.open(43, sealed)


def test_tampering_and_garbage_are_refused() -> None:
    vault = SessionVault.from_secret("secret")
    sealed = bytearray(vault.seal(1, SESSION))
    sealed[-1] ^= 1
    with pytest.raises(VaultError):
        vault.open(1, bytes(sealed))
    with pytest.raises(VaultError):
        vault.open(1, b"plaintext?")


def test_another_key_cannot_open() -> None:
    sealed = SessionVault.from_secret("one").seal(1, SESSION)
    with pytest.raises(VaultError):
        SessionVault.from_secret("two").open(1, sealed)


def test_secret_key_forms() -> None:
    # A passphrase is stretched, deterministically.
    assert key_from_secret("pass") == key_from_secret("pass") != key_from_secret("pass2")
    assert len(key_from_secret("pass")) == 32
    # A ready Fernet/urlsafe-base64 32-byte key is used as is.
    fernet_key = Fernet.generate_key().decode()
    assert key_from_secret(fernet_key) == base64.urlsafe_b64decode(fernet_key)
    sealed = SessionVault.from_secret(fernet_key).seal(5, SESSION)
    assert SessionVault.from_secret(fernet_key).open(5, sealed) == SESSION


def test_key_file_created_0600_beside_the_database_and_reused(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    vault = SessionVault.from_settings(None, database)
    key_file = tmp_path / "data" / KEY_FILE_NAME
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = vault.seal(7, SESSION)
    again = SessionVault.from_settings("  ", database)  # blank SECRET_KEY: the file
    assert again.open(7, sealed) == SESSION
    # SECRET_KEY, when set, wins over the file.
    with pytest.raises(VaultError):
        SessionVault.from_settings("operator secret", database).open(7, sealed)


def test_a_loose_key_file_is_tightened(tmp_path: Path) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text(base64.urlsafe_b64encode(b"k" * 32).decode() + "\n")
    key_file.chmod(0o644)
    vault = SessionVault.from_key_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert vault.open(1, vault.seal(1, SESSION)) == SESSION


def test_a_broken_key_file_is_an_error(tmp_path: Path) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text("not a key")
    key_file.chmod(0o600)
    with pytest.raises(VaultError):
        SessionVault.from_key_file(key_file)


def test_repr_shows_no_key() -> None:
    assert repr(SessionVault(b"\x01" * 32)) == "SessionVault(key=***)"

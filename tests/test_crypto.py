"""SessionVault: sessions sealed at rest, bound to their user, with a key from SECRET_KEY or a
0600 key file beside the database."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.account.vault import KEY_FILE_NAME, SessionVault, VaultError, key_from_secret

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
    # SECRET_KEY, when set, seals; the file's key still opens what it sealed (setting
    # SECRET_KEY later loses no session), and the session moves to SECRET_KEY when used.
    with_secret = SessionVault.from_settings("operator secret", database)
    assert with_secret.open(7, sealed) == SESSION
    assert with_secret.needs_reseal(sealed)
    resealed = with_secret.seal(7, SESSION)
    assert not with_secret.needs_reseal(resealed)
    with pytest.raises(VaultError):
        SessionVault.from_secret("operator secret").open(7, sealed)  # the file really mattered
    assert SessionVault.from_secret("operator secret").open(7, resealed) == SESSION


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


def test_rotation_new_key_first_old_keys_still_open() -> None:
    old = SessionVault.from_secret("old passphrase")
    sealed_old = old.seal(1, SESSION)
    fernet_key = Fernet.generate_key().decode()
    rotated = SessionVault.from_secret(f"{fernet_key}, old passphrase")
    assert rotated.key_count == 2
    assert rotated.open(1, sealed_old) == SESSION  # the old key still reads
    assert rotated.needs_reseal(sealed_old)  # ... and its sessions are due a re-seal
    fresh = rotated.seal(1, SESSION)
    assert not rotated.needs_reseal(fresh)
    assert SessionVault.from_secret(fernet_key).open(1, fresh) == SESSION  # the newest sealed
    with pytest.raises(VaultError):
        old.open(1, fresh)
    # Dropping the old key later: what was re-sealed still opens, what was not does not.
    newest_only = SessionVault.from_secret(fernet_key)
    assert newest_only.opens(1, fresh) and not newest_only.opens(1, sealed_old)


def test_first_form_without_key_id_still_opens_and_is_resealed() -> None:
    """Sessions stored before key ids (b"\\x01" + nonce + ciphertext) stay readable."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = key_from_secret("secret")
    nonce = b"n" * 12
    legacy = (
        b"\x01" + nonce + AESGCM(key).encrypt(nonce, SESSION.encode(), b"anilibria-session:user:9")
    )
    vault = SessionVault.from_secret("newer, secret")
    assert vault.open(9, legacy) == SESSION
    assert vault.needs_reseal(legacy)
    with pytest.raises(VaultError):
        vault.open(10, legacy)  # still bound to its user


def test_a_passphrase_with_a_comma_still_opens_what_it_sealed() -> None:
    sealed = SessionVault(key_from_secret("one, two")).seal(3, SESSION)
    assert SessionVault.from_secret("one, two").open(3, sealed) == SESSION


def test_a_key_file_may_list_several_keys_newest_first(tmp_path: Path) -> None:
    newer, older = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SessionVault.from_secret(older).seal(4, SESSION)
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text(f"# rotated\n{newer}\n\n{older}\n")
    key_file.chmod(0o600)
    vault = SessionVault.from_key_file(key_file)
    assert vault.open(4, sealed) == SESSION and vault.needs_reseal(sealed)
    assert SessionVault.from_secret(newer).open(4, vault.seal(4, SESSION)) == SESSION


def test_an_unknown_key_id_is_refused_not_guessed() -> None:
    sealed = SessionVault.from_secret("a").seal(1, SESSION)
    with pytest.raises(VaultError, match="not configured"):
        SessionVault.from_secret("b").open(1, sealed)

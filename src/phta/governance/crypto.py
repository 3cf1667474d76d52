"""Password hashing (Argon2id) and encryption of TOTP secrets at rest (Fernet).

The Fernet key is a file in the data directory (``keys/totp-secrets.key``, 0600), so a copy of
the database alone does not reveal anyone's second factor.
"""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet

from phta.store.keyfiles import load_or_create_key

TOTP_KEY_FILE = "totp-secrets.key"
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12


class WeakPasswordError(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A real hash to verify against when the account does not exist, so response time does not
# reveal which e-mail addresses have accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-long")


def burn_time_like_a_check(password: str) -> None:
    check_password(_DUMMY_HASH, password)


def _fernet(data_dir: Path) -> Fernet:
    return Fernet(load_or_create_key(Path(data_dir), TOTP_KEY_FILE, Fernet.generate_key))


def encrypt_secret(data_dir: Path, secret: str) -> str:
    return _fernet(data_dir).encrypt(secret.encode("ascii")).decode("ascii")


def decrypt_secret(data_dir: Path, token: str) -> str:
    return _fernet(data_dir).decrypt(token.encode("ascii")).decode("ascii")

"""Password hashing with Argon2id. Hashing costs tens of milliseconds of CPU on purpose,
so it runs in a thread and never stalls the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified when the username is unknown, so a wrong username costs as much time as a
# wrong password and response times do not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("convodesk-no-such-user")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; pass None for an unknown user (still takes the time)."""
    return await asyncio.to_thread(_verify, password_hash, password)

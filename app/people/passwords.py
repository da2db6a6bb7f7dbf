"""Password hashing with Argon2id. Hashing costs tens of milliseconds of CPU on purpose,
so it runs in a thread and never stalls the event loop."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.settings import Settings


def hasher_for(hashing: str) -> PasswordHasher:
    """`standard`: argon2-cffi's defaults (RFC 9106's low-memory profile). `fast`: the
    cheapest Argon2id there is, so a test suite's thousands of sign-ins cost nothing;
    its hashes still verify under `standard` (a hash carries its own parameters)."""
    if hashing == "fast":
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()


@cache
def _hasher() -> PasswordHasher:
    # read on first use, not at import: the CLI reports a bad setting before this runs
    return hasher_for(Settings.from_env().password_hashing)


@cache
def _dummy_hash() -> str:
    """Verified when the username is unknown, so a wrong username costs as much time as a
    wrong password and response times do not reveal which usernames exist."""
    return _hasher().hash("convodesk-no-such-user")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher().hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; pass None for an unknown user (still takes the time)."""
    return await asyncio.to_thread(_verify, password_hash, password)

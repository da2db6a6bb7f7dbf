"""Password hashing: production's parameters, and the cheap setting the test suite uses."""

from __future__ import annotations

import asyncio

import argon2
import pytest

from app.people import passwords
from app.settings import Settings

pytestmark = pytest.mark.pure


def test_production_hashes_with_the_argon2_defaults_and_round_trips():
    hashing = Settings.from_env({}).password_hashing
    assert hashing == "standard"  # what a server gets without the setting
    hasher = passwords.hasher_for(hashing)
    defaults = argon2.PasswordHasher()
    assert hasher.time_cost == defaults.time_cost == 3
    assert hasher.memory_cost == defaults.memory_cost == 65536
    assert hasher.parallelism == defaults.parallelism == 4
    assert (hasher.hash_len, hasher.salt_len) == (defaults.hash_len, defaults.salt_len)
    assert hasher.type is argon2.Type.ID
    hashed = hasher.hash("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hasher.verify(hashed, "correct horse battery")
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        hasher.verify(hashed, "correct horse battery!")


def test_the_fast_setting_is_argon2id_at_its_lowest_cost_and_verifies_anywhere():
    fast = passwords.hasher_for(
        Settings.from_env({"CONVODESK_PASSWORD_HASHING": "fast"}).password_hashing
    )
    hashed = fast.hash("pass-word-1")
    assert hashed.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    # a hash carries its parameters: a production server still checks it correctly
    assert passwords.hasher_for("standard").verify(hashed, "pass-word-1")


def test_the_setting_is_checked():
    from app.settings import SettingsError

    with pytest.raises(SettingsError, match="CONVODESK_PASSWORD_HASHING"):
        Settings.from_env({"CONVODESK_PASSWORD_HASHING": "none"})


def test_verify_password_knows_right_wrong_and_unknown():
    async def check():
        hashed = await passwords.hash_password("s3cret-pass")
        return (
            await passwords.verify_password(hashed, "s3cret-pass"),
            await passwords.verify_password(hashed, "wrong-pass"),
            await passwords.verify_password(None, "s3cret-pass"),
            await passwords.verify_password("not a hash", "s3cret-pass"),
        )

    assert asyncio.run(check()) == (True, False, False, False)

"""Signing in and recognising callers: passwords → JWTs, and JWTs or access keys →
the acting Principal. Every request re-reads the agent, so a deleted agent or a changed
permission takes effect at once, not when the token expires."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import asyncpg
import jwt

from app.db import sql
from app.db.tables import Agent, LoginFailure
from app.domain.enums import Permission
from app.domain.errors import TooManyRequests, Unauthenticated
from app.domain.principal import Principal
from app.domain.resources import LoginResult
from app.domain.timefmt import now
from app.services.accesskeys import hash_key
from app.services.events import transaction
from app.services.passwords import verify_password

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=5)
_ALGORITHM = "HS256"


def _principal(row: dict[str, Any], via: str) -> Principal:
    return Principal(
        customer_id=str(row["customer_id"]),
        agent_id=str(row["id"]),
        username=row["username"],
        permission=Permission(row["permission"]),
        via=via,
    )


def issue_token(agent: dict[str, Any], secret_key: str, ttl_seconds: int) -> str:
    issued = now()
    claims = {
        "sub": str(agent["id"]),
        "customer_id": str(agent["customer_id"]),
        "username": agent["username"],
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, secret_key, algorithm=_ALGORITHM)


async def _throttle(username: str) -> int:
    """Count this attempt against the username; raise 429 when the window is full.
    The attempt is written before the password is checked (under a per-username lock), so
    a burst of parallel guesses cannot all slip past the count."""
    cutoff = now() - FAILURE_WINDOW
    async with transaction():
        await LoginFailure.raw("SELECT pg_advisory_xact_lock(hashtext({}))", "login:" + username)
        recent = await (
            LoginFailure.select(LoginFailure.tm_create)
            .where(LoginFailure.username == username, LoginFailure.tm_create > cutoff)
            .order_by(LoginFailure.tm_create, ascending=False)
            .limit(MAX_FAILURES)
        )
        if len(recent) >= MAX_FAILURES:
            oldest = recent[-1]["tm_create"]
            wait = max(1, math.ceil((oldest + FAILURE_WINDOW - now()).total_seconds()))
            raise TooManyRequests(
                "too_many_login_attempts",
                f"Too many failed sign-ins for this username; try again in {wait} s.",
                headers={"Retry-After": str(wait)},
            )
        await LoginFailure.delete().where(
            LoginFailure.username == username, LoginFailure.tm_create <= cutoff
        )
        rows = await LoginFailure.insert(LoginFailure(username=username)).returning(LoginFailure.id)
    return rows[0]["id"]


async def login(username: str, password: str, *, secret_key: str, ttl_seconds: int) -> LoginResult:
    username = username.strip().lower()
    await _throttle(username)
    row = await Agent.select().where(Agent.username == username, Agent.tm_delete.is_null()).first()
    if not await verify_password(row["password_hash"] if row else None, password):
        raise Unauthenticated("invalid_credentials", "Wrong username or password.")
    # Success clears the count, so a mistyped password now and then never locks anyone out.
    await LoginFailure.delete().where(LoginFailure.username == username)
    return LoginResult(username=row["username"], token=issue_token(row, secret_key, ttl_seconds))


async def _live_agent(agent_id: str, customer_id: str) -> Any:
    # every API request comes through here: plain SQL, not the query builder
    return await sql.fetchrow(
        "SELECT id, customer_id, username, permission FROM agents"
        " WHERE id = $1::uuid AND customer_id = $2::uuid AND tm_delete IS NULL",
        agent_id,
        customer_id,
    )


async def authenticate_token(token: str, secret_key: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret_key, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]}
        )
        agent_id, customer_id = str(claims["sub"]), str(claims["customer_id"])
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token_expired", "The token has expired; sign in again.") from None
    except (jwt.InvalidTokenError, KeyError):
        raise Unauthenticated("invalid_token", "The token is not valid.") from None
    try:
        row = await _live_agent(agent_id, customer_id)
    except (ValueError, asyncpg.DataError):  # a signed token whose ids are not UUIDs
        row = None
    if row is None:
        raise Unauthenticated("invalid_token", "The token's agent no longer exists.")
    return _principal(row, "token")


async def authenticate_access_key(key: str) -> Principal:
    found = await sql.fetchrow(
        "SELECT agent_id, customer_id, tm_expire FROM access_keys"
        " WHERE token_hash = $1 AND tm_delete IS NULL",
        hash_key(key),
    )
    if found is None:
        raise Unauthenticated("invalid_accesskey", "The access key is not valid or was revoked.")
    if found["tm_expire"] is not None and found["tm_expire"] <= now():
        raise Unauthenticated("accesskey_expired", "The access key has expired.")
    row = await _live_agent(str(found["agent_id"]), str(found["customer_id"]))
    if row is None:
        raise Unauthenticated("invalid_accesskey", "The access key's agent no longer exists.")
    return _principal(row, "accesskey")

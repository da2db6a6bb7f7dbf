"""Signing in and recognising callers: passwords → JWTs, and JWTs or access keys →
the acting Principal. Every request re-reads the agent, so a deleted agent or a changed
permission takes effect at once, not when the token expires."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Literal

import asyncpg
import jwt

from app.core.events import transaction
from app.domain.enums import AgentStatus, Permission
from app.domain.errors import Forbidden, InvalidInput, TooManyRequests, Unauthenticated
from app.domain.principal import Principal
from app.domain.resources import LoginResult
from app.domain.text import unstorable_char
from app.domain.timefmt import now
from app.people import accesskey_store, agent_store, login_store
from app.people.accesskeys import hash_key
from app.people.agent_store import SignedIn
from app.people.passwords import verify_password

MAX_FAILURES = 5
"""Failed sign-ins one username may have within FAILURE_WINDOW."""
MAX_ADDRESS_FAILURES = 20
"""Failed sign-ins one client address may have within FAILURE_WINDOW, whatever usernames
it tries: it stops one address spraying a common password over many usernames, which the
per-username limit alone never notices."""
FAILURE_WINDOW = timedelta(minutes=5)
_ALGORITHM = "HS256"


def _principal(row: SignedIn, via: str) -> Principal:
    return Principal(
        customer_id=str(row.customer_id),
        agent_id=str(row.id),
        username=row.username,
        permission=Permission(row.permission),
        via=via,
    )


def issue_token(
    agent_id: str, customer_id: str, username: str, secret_key: str, ttl_seconds: int
) -> str:
    """A JWT that signs in as this agent for `ttl_seconds`."""
    issued = now()
    claims = {
        "sub": agent_id,
        "customer_id": customer_id,
        "username": username,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, secret_key, algorithm=_ALGORITHM)


async def _refuse_when_full(
    by: Literal["username", "address"], value: str, limit: int, whose: str
) -> None:
    """429 when `limit` failures with this username / from this address fall within the
    window."""
    recent = await login_store.recent(by, value, since=now() - FAILURE_WINDOW, limit=limit)
    if len(recent) >= limit:
        oldest = recent[-1]
        wait = max(1, math.ceil((oldest + FAILURE_WINDOW - now()).total_seconds()))
        raise TooManyRequests(
            "too_many_login_attempts",
            f"Too many failed sign-ins {whose}; try again in {wait} s.",
            headers={"Retry-After": str(wait)},
        )


async def _throttle(username: str, address: str) -> int:
    """Count this attempt against the username and the client address; raise 429 when
    either window is full. The attempt is written before the password is checked (under a
    per-username and a per-address lock, always taken in that order), so a burst of
    parallel guesses cannot all slip past the count."""
    cutoff = now() - FAILURE_WINDOW
    async with transaction():
        await login_store.lock(username, address)
        await _refuse_when_full("username", username, MAX_FAILURES, "for this username")
        await _refuse_when_full("address", address, MAX_ADDRESS_FAILURES, "from your address")
        return await login_store.record(username, address, before=cutoff)


def _check_username(username: str) -> None:
    """A username that cannot exist is refused before it is counted (and stored)."""
    problem = None
    if bad := unstorable_char(username):
        problem = f"contains a character that cannot be stored ({bad})"
    elif len(username) > 255:
        problem = "is at most 255 characters"
    if problem:
        raise InvalidInput(
            "invalid_username",
            f"The username {problem}.",
            fields=[{"field": "username", "message": problem}],
        )


async def login(
    username: str, password: str, *, address: str, secret_key: str, ttl_seconds: int
) -> LoginResult:
    """A token for the right password. `address` is the client's address (the connection's
    peer, as the server reports it), for the per-address limit."""
    username = username.strip().lower()
    _check_username(username)
    await _throttle(username, address[:255])
    row = await agent_store.by_username(username)
    if not await verify_password(row.password_hash if row else None, password) or row is None:
        raise Unauthenticated("invalid_credentials", "Wrong username or password.")
    if row.status == AgentStatus.DEACTIVATED.value:
        # Said only to whoever knows the password: the person, who should know why.
        raise Forbidden(
            "agent_deactivated",
            "This account is deactivated; ask an admin of your team to reactivate it.",
        )
    # Success clears the username's count, so a mistyped password now and then never locks
    # anyone out (the address keeps its failures for other usernames).
    await login_store.clear(username)
    token = issue_token(str(row.id), str(row.customer_id), row.username, secret_key, ttl_seconds)
    return LoginResult(username=row.username, token=token)


async def recheck_password(username: str, password_hash: str, password: str, address: str) -> bool:
    """Whether a signed-in agent typed its own password (to change it). Counted and
    throttled like a sign-in, so a desk left open cannot be used to guess the password."""
    await _throttle(username, address[:255])
    if not await verify_password(password_hash, password):
        return False
    await login_store.clear(username)
    return True


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
        row = await agent_store.signed_in(agent_id, customer_id)
    except (ValueError, asyncpg.DataError):  # a signed token whose ids are not UUIDs
        row = None
    if row is None:
        raise Unauthenticated(
            "invalid_token", "The token's agent no longer exists or is deactivated."
        )
    return _principal(row, "token")


async def still_signed_in(principal: Principal) -> bool:
    """Whether the principal's agent may still act (live and active): a live connection
    asks again when its agent changes. Asked, not read from the event: a replay from long
    ago may show a deactivation that a reactivation has undone since."""
    row = await agent_store.signed_in(principal.agent_id, principal.customer_id)
    return row is not None


async def authenticate_access_key(key: str) -> Principal:
    found = await accesskey_store.presented(hash_key(key))
    if found is None:
        raise Unauthenticated("invalid_accesskey", "The access key is not valid or was revoked.")
    if found.tm_expire is not None and found.tm_expire <= now():
        raise Unauthenticated("accesskey_expired", "The access key has expired.")
    row = await agent_store.signed_in(str(found.agent_id), str(found.customer_id))
    if row is None:
        raise Unauthenticated(
            "invalid_accesskey", "The access key's agent no longer exists or is deactivated."
        )
    return _principal(row, "accesskey")

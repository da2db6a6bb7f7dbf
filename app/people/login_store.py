"""The sign-in attempts' SQL (login_failures), with Piccolo's query builder: signing in
costs ~94 ms of Argon2id on purpose, next to which the builder's cost does not show. The
per-username and per-address locks are advisory locks, which the builder cannot take."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from app.db import sql
from app.db.tables import LoginFailure


async def lock(username: str, address: str) -> None:
    """Attempts for this username, and from this address, take turns until the
    transaction ends (always in this order, so two attempts never wait for each other)."""
    await sql.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "login:" + username)
    await sql.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "from:" + address)


async def recent(
    by: Literal["username", "address"], value: str, *, since: datetime, limit: int
) -> list[datetime]:
    """When the latest attempts (up to `limit`, newest first) after `since` were made with
    this username or from this address."""
    rows = (
        await LoginFailure.select(LoginFailure.tm_create)
        .where(LoginFailure._meta.get_column_by_name(by) == value, LoginFailure.tm_create > since)
        .order_by(LoginFailure.tm_create, ascending=False)
        .limit(limit)
    )
    return [r["tm_create"] for r in rows]


async def record(username: str, address: str, before: datetime) -> int:
    """Count an attempt; the username's and the address's attempts from before `before`
    are forgotten. Returns the attempt's id."""
    await LoginFailure.delete().where(
        (LoginFailure.username == username) | (LoginFailure.address == address),
        LoginFailure.tm_create <= before,
    )
    rows = await LoginFailure.insert(LoginFailure(username=username, address=address)).returning(
        LoginFailure.id
    )
    return rows[0]["id"]


async def clear(username: str) -> None:
    """The username's attempts no longer count (it signed in)."""
    await LoginFailure.delete().where(LoginFailure.username == username)

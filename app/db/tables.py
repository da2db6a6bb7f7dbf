"""Piccolo tables. Rows only: the rules about them live in app/services.

Conventions: ids are UUIDs (events use an ordered bigint so readers can resume by id);
times are timestamptz in UTC; `tm_delete` is NULL for a live row (the API shows it as
"9999-01-01 00:00:00.000000"); default times are taken per row in Python, so rows written
in one transaction still get distinct, ordered `tm_create` values.
Indexes that Piccolo cannot express (partial, multi-column) are created in the migrations.
"""

from piccolo.columns import (
    JSONB,
    UUID,
    Array,
    BigSerial,
    ForeignKey,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Customer(Table, tablename="customers"):
    """A tenant: every other row belongs to exactly one customer."""

    id = UUID(primary_key=True)
    name = Varchar(length=255)
    detail = Text(default="")
    webhook_method = Varchar(length=8, default="POST")
    webhook_uri = Text(default="")
    webhook_secret = Text(default="")
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class Agent(Table, tablename="agents"):
    """A person who signs in: admin, manager or agent of one customer."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    username = Varchar(length=255)
    name = Varchar(length=255, default="")
    detail = Text(default="")
    password_hash = Text()
    permission = Varchar(length=16, default="agent")
    status = Varchar(length=16, default="offline")
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class AccessKey(Table, tablename="access_keys"):
    """An API key; only its SHA-256 is stored, the key itself is shown once."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    agent_id = ForeignKey(references=Agent, on_delete=OnDelete.cascade)
    name = Varchar(length=255, default="")
    detail = Text(default="")
    token_hash = Varchar(length=64, unique=True)
    token_prefix = Varchar(length=16)
    tm_expire = Timestamptz(null=True, default=None)
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class LoginFailure(Table, tablename="login_failures"):
    """One failed sign-in; counted per username to throttle password guessing."""

    id = BigSerial(primary_key=True)
    username = Varchar(length=255)
    tm_create = Timestamptz(default=TimestamptzNow())


class Event(Table, tablename="events"):
    """The event stream: every change, in commit order by id, for every reader."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    type = Varchar(length=64)
    topics = Array(base_column=Text())
    payload = JSONB()
    tm_create = Timestamptz(default=TimestamptzNow())


ALL_TABLES = [Customer, Agent, AccessKey, LoginFailure, Event]

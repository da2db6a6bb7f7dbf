"""The `convodesk` command (also `python -m app`).

Each command reads the settings, finds or starts the database, applies migrations, then
does its one job. Errors a user can fix (a bad setting, a taken username) print one line
and exit non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import asyncpg

from app.settings import Settings, SettingsError

T = TypeVar("T")


class _Exit(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def say(message: str) -> None:
    print(message, flush=True)


def _prepare(*, migrate: bool = True, quiet: bool = False) -> Settings:
    """Settings with the database resolved (embedded started if needed) and migrated."""
    from app.db import engine
    from app.db.migrate import MigrationError
    from app.db.migrate import migrate as run_migrations

    settings = Settings.from_env()
    if settings.database_url is None and not quiet:
        say(f"Starting the embedded PostgreSQL in {settings.data_dir / 'pg'} ...")
    settings = engine.resolve(settings)
    if migrate:
        if not quiet:
            say("Applying database migrations ...")
        try:
            asyncio.run(run_migrations(settings.require_database_url(), quiet=quiet))
        except MigrationError as exc:
            raise _Exit(str(exc)) from None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            where = _safe_location(settings.require_database_url())
            raise _Exit(f"cannot reach the database at {where}: {exc}") from None
    return settings


def _safe_location(url: str) -> str:
    """host:port/database of a URL, without the password."""
    parts = urlsplit(url)
    host = parts.hostname or dict(parse_qsl(parts.query)).get("host", "local socket")
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}"


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import os

    from app import serving
    from app.channels.smtp_listener import PortInUse

    if not os.environ.get("CONVODESK_PUBLIC_URL"):
        # Unset, providers and the widget snippet are told where this server listens.
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        os.environ["CONVODESK_PUBLIC_URL"] = f"http://{shown}:{port}"
    if workers > 1 and settings.event_bus == "memory":
        raise _Exit(
            f"--workers {workers} needs a bus the processes share, so that a message taken in"
            " by one reaches the desks connected to another: set"
            " CONVODESK_REDIS_URL=redis://127.0.0.1:6379/0 (Redis: apt-get install"
            " redis-server), or CONVODESK_EVENT_BUS=postgres to use PostgreSQL's"
            " LISTEN/NOTIFY instead (slower; docs/DEPLOY.md)."
        )
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal; with Python's
    # default handler that kills the process before `atexit` runs, and an embedded
    # PostgreSQL started by this process would be left behind. Exit normally instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        smtp_socket = serving.claim_smtp(settings, host)
    except PortInUse as exc:
        raise _Exit(str(exc)) from None
    say(f"Convodesk is listening on http://{host}:{port} ({workers} worker process(es))")
    if smtp_socket is not None:
        where = smtp_socket.getsockname()
        say(f"Inbound email (SMTP) on {where[0]}:{where[1]}")
    serving.run(settings, host, port, workers, smtp_socket)


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _prepare()
    _serve(settings, args.host, args.port, args.workers)


def cmd_worker(args: argparse.Namespace) -> None:
    settings = _prepare()
    from app.workers.runner import run_standalone

    # until the loop runs, which then takes SIGTERM over (`run_standalone`)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    say("Convodesk workers are running (sender, webhook dispatcher, lifecycle); Ctrl+C stops them.")
    try:
        # the same event loop as `serve` (uvicorn picks uvloop): a third less CPU per webhook
        import uvloop
    except ImportError:
        asyncio.run(run_standalone(settings))
    else:
        uvloop.run(run_standalone(settings))


def cmd_migrate(args: argparse.Namespace) -> None:
    _prepare()
    say("Database is up to date.")


def _service_call(coro):
    from app.domain.errors import ServiceError

    try:
        return asyncio.run(coro)
    except ServiceError as exc:
        raise _Exit(exc.message) from None


def cmd_customer_create(args: argparse.Namespace) -> None:
    _prepare(quiet=True)
    from app.people import customers

    customer, agent_id = _service_call(
        customers.create_customer(name=args.name, username=args.username, password=args.password)
    )
    print(json.dumps({"customer_id": customer.id, "agent_id": agent_id}))


def cmd_agent_create(args: argparse.Namespace) -> None:
    _prepare(quiet=True)
    from app.core.ids import parse_id
    from app.people import agents

    async def create() -> str:
        from app.core.events import transaction
        from app.db.tables import Customer
        from app.domain.errors import NotFound

        customer_id = parse_id(args.customer_id, "customer_not_found", "customer")
        if not await Customer.exists().where(
            Customer.id == customer_id, Customer.tm_delete.is_null()
        ):
            raise NotFound("customer_not_found", f"There is no customer {args.customer_id}.")
        data = agents.validated_create(
            username=args.username,
            password=args.password,
            name=args.name or "",
            permission=args.permission,
        )
        async with transaction():
            agent = await agents.insert_agent(customer_id, data)
        return agent.id

    print(json.dumps({"agent_id": _service_call(create())}))


async def _pooled(coro: Coroutine[Any, Any, T]) -> T:
    """`coro` with a connection pool, as the server has: without one, every transaction
    opens (and introspects) a connection of its own: the demo seeds several times slower."""
    from app.db.piccolo_conf import DB

    await DB.start_connection_pool(min_size=1, max_size=2)
    try:
        return await coro
    finally:
        await DB.close_connection_pool()


def cmd_demo(args: argparse.Namespace) -> None:
    settings = _prepare()
    from app.demo import seed_demo

    say("Seeding demo data ...")
    info = asyncio.run(_pooled(seed_demo()))
    say("Demo data " + ("created." if info.created else "already present; reusing it."))
    url = f"http://{args.host}:{args.port}"
    say("")
    say(f"  Convodesk demo:  {url}")
    say(f"  API reference:   {url}/schema/")
    for username, password, permission in info.logins:
        say(f"  Log in as {username!r} / {password!r} ({permission})")
    if settings.smtp_port:
        smtp_host = settings.smtp_host or args.host
        say(f"  Email:           mail {info.email} at SMTP {smtp_host}:{settings.smtp_port}")
    say(
        f"  Try: curl -s -X POST {url}/auth/login -H 'Content-Type: application/json' "
        f'-d \'{{"username":"admin","password":"{info.logins[0][1]}"}}\''
    )
    say("")
    _serve(settings, args.host, args.port, args.workers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convodesk", description="Convodesk: a real-time agent desk and conversation hub."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1", help="address to listen on")
        p.add_argument("--port", type=int, default=8000, help="port to listen on")
        p.add_argument("--workers", type=int, default=1, help="web worker processes")

    p = sub.add_parser("serve", help="run migrations and the web server")
    server_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="serve, with a demo customer and logins")
    server_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("worker", help="run only the background workers (to scale out)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="apply database migrations and exit")
    p.set_defaults(func=cmd_migrate)

    customer = sub.add_parser("customer", help="manage customers (tenants)")
    csub = customer.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = csub.add_parser("create", help="create a customer with an admin agent")
    p.add_argument("--name", required=True)
    p.add_argument("--username", required=True, help="the admin agent's username")
    p.add_argument("--password", required=True, help="the admin agent's password")
    p.set_defaults(func=cmd_customer_create)

    agent = sub.add_parser("agent", help="manage agents")
    asub = agent.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = asub.add_parser("create", help="create an agent for a customer")
    p.add_argument("--customer-id", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--name", default="")
    p.add_argument("--permission", choices=["admin", "manager", "agent"], default="agent")
    p.set_defaults(func=cmd_agent_create)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "workers", 1) < 1:
        print("convodesk: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        args.func(args)
    except SettingsError as exc:
        print(f"convodesk: {exc}", file=sys.stderr)
        return 2
    except _Exit as exc:
        print(f"convodesk: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    return 0

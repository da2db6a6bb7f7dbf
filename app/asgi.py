"""`create_app(settings)`: wiring only — doors, dependencies, error handling, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Router
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from app.api import (
    accesskeys,
    accounts,
    agents,
    conversations,
    customer,
    hooks,
    openapi,
    talks,
    webhooks,
)
from app.api.auth import PRINCIPAL, login
from app.api.errors import EXCEPTION_HANDLERS, RequestTimer, check_api_input, stamp_response
from app.api.health import healthz
from app.channels import runtime, smtp_listener
from app.db.engine import engine_config
from app.db.piccolo_conf import DB
from app.realtime import bus
from app.realtime.api_ws import api_websocket
from app.realtime.desk_ws import desk_websocket
from app.realtime.hub import Hub
from app.realtime.presence import Presence
from app.settings import Settings
from app.web import admin, admin_webhooks, desk, forms, render, session, talk_desk, widget
from app.workers.runner import Workers

ROOT = Path(__file__).resolve().parent.parent
"""The project directory, holding templates/ and static/ beside the app package."""

log = logging.getLogger("convodesk")


def _channels(settings: Settings) -> ChannelsPlugin:
    if settings.event_bus == "postgres":
        backend: Any = AsyncPgChannelsBackend(dsn=settings.database_url)
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(backend=backend, channels=[bus.CHANNEL])


def create_app(settings: Settings) -> Litestar:
    """The web application for already-resolved settings (database URL and secret key)."""
    settings.require_secret_key()
    DB.config = engine_config(settings.database_url)
    runtime.configure(settings)
    channels = _channels(settings)
    hub = Hub()

    async def publish(notice: dict[str, Any]) -> None:
        await channels.wait_published(notice, bus.CHANNEL)

    presence = Presence(publish)
    hub.watch(presence.on_notice)

    async def listen() -> None:
        """Every notice this process hears, from itself or (PostgreSQL bus) from others."""
        subscriber = await channels.subscribe(bus.CHANNEL)
        async for raw in subscriber.iter_events():
            try:
                hub.notify(msgspec.json.decode(raw))
            except msgspec.DecodeError:
                log.warning("ignored a malformed bus notice")

    @asynccontextmanager
    async def database(_: Litestar) -> AsyncIterator[None]:
        await DB.start_connection_pool(min_size=settings.db_pool_min, max_size=settings.db_pool_max)
        bus.attach(publish)
        yield
        bus.attach(None)
        await runtime.close()
        await DB.close_connection_pool()

    @asynccontextmanager
    async def realtime(_: Litestar) -> AsyncIterator[None]:
        # The channels plugin is started here rather than registered as a plugin, so that
        # it is up before the listener subscribes and down only after the workers stop.
        async with channels, smtp_listener.serving(settings):
            listener = asyncio.create_task(listen(), name="bus-listener")
            presence.start()
            workers = Workers(settings, hub)
            if settings.run_workers:
                workers.start()
            yield
            await workers.stop()
            await presence.close()
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await hub.close()

    api = Router(
        path="/",
        route_handlers=[
            agents.AgentController,
            accesskeys.AccessKeyController,
            customer.CustomerController,
            conversations.ConversationController,
            accounts.AccountController,
            accounts.setup_conversation,
            webhooks.WebhookDeliveryController,
            talks.TalkController,
            talks.ReactionController,
            talks.talk_file,
        ],
        dependencies=PRINCIPAL,
        before_request=check_api_input,
    )
    auth = Router(path="/", route_handlers=[login], before_request=check_api_input)
    # The desk: its own errors become pages or alerts, not JSON envelopes.
    web = Router(
        path="/",
        route_handlers=[desk.DeskController, talk_desk.TalkDeskController],
        exception_handlers=desk.DESK_ERRORS,
        before_request=forms.check_input,
    )
    app = Litestar(
        route_handlers=[
            api,
            auth,
            web,
            session.login_page,
            session.login_submit,
            session.logout,
            desk.media_file,
            hooks.provider_hook,
            hooks.provider_sub_hook,
            *admin.ROUTES,
            *admin_webhooks.ROUTES,
            *widget.ROUTES,
            healthz,
            api_websocket,
            desk_websocket,
            create_static_files_router(path="/static", directories=[ROOT / "static"]),
        ],
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "hub": Provide(lambda: hub, use_cache=True, sync_to_thread=False),
            "presence": Provide(lambda: presence, use_cache=True, sync_to_thread=False),
        },
        lifespan=[database, realtime],
        middleware=[RequestTimer],
        before_send=[stamp_response],
        exception_handlers={  # type: ignore[arg-type]
            **EXCEPTION_HANDLERS,
            session.NotSignedIn: session.to_sign_in,
        },
        csrf_config=CSRFConfig(
            secret=settings.require_secret_key(),
            cookie_secure=settings.public_url.startswith("https://"),
            # JSON doors authenticate by token and take only application/json, which a
            # cross-site form cannot send; provider hooks are signed by the provider.
            exclude=["/v1.0/", "/auth/", "/hooks/", "/widget/", "/schema", "/healthz"],
        ),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi.config(),
        template_config=TemplateConfig(instance=render.engine),
        logging_config=None,  # app.logs configures logging, for the CLI and workers too
        debug=False,
    )
    openapi.complete(app)
    return app


def app_from_env() -> Litestar:
    """Factory for uvicorn (`--workers N` imports it in each worker process)."""
    from app.db import engine
    from app.logs import configure_logging

    settings = engine.resolve(Settings.from_env())
    configure_logging(settings.log_level)
    return create_app(settings)

"""Every door of the application, in one table: the JSON v1.0 API (behind the `principal`
dependency and the input check), sign-in, the desk and admin pages, provider hooks, the
widget's doors, the websockets and static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router

from app.api import accesskeys, accounts, agents, conversations, customer, hooks, talks, webhooks
from app.api.auth import PRINCIPAL, login
from app.api.errors import check_api_input
from app.api.health import healthz
from app.realtime.api_ws import api_websocket
from app.realtime.desk_ws import desk_websocket
from app.web import admin, admin_webhooks, desk, forms, session, talk_desk, widget

ROOT = Path(__file__).resolve().parent.parent
"""The project directory, holding templates/ and static/ beside the app package."""


def route_handlers() -> list[Any]:
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
    pages = Router(
        path="/",
        route_handlers=[desk.DeskController, talk_desk.TalkDeskController],
        exception_handlers=desk.DESK_ERRORS,
        before_request=forms.check_input,
    )
    return [
        api,
        auth,
        pages,
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
    ]

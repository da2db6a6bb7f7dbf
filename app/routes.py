"""Every door of the application, in one table: the JSON v1.0 API (behind the `principal`
dependency and the input check), sign-in, the desk and admin pages, provider hooks, the
widget's doors, the websockets and static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router

from app.api.auth import PRINCIPAL, login
from app.api.errors import check_api_input
from app.api.health import healthz
from app.api.ws import api_websocket
from app.audit import api as audit
from app.automation import api as automation
from app.business_hours import api as business_hours
from app.canned import api as canned
from app.channels import api as accounts
from app.channels import hooks_api as hooks
from app.contacts import api as contacts
from app.conversations import api as conversations
from app.conversations import rooms_api
from app.csat import api as csat
from app.csat import page as csat_page
from app.desk import (
    admin_accesskeys,
    admin_agents,
    admin_audit,
    admin_automation,
    admin_hours,
    admin_sla,
    admin_teams,
    admin_webhooks,
    canned_pages,
    contacts_pages,
    forms,
    macros_pages,
    profile,
    reports_pages,
    session,
)
from app.desk import admin_channels as admin
from app.desk import notifications as notifications_desk
from app.desk import pages as desk
from app.desk import replies as desk_replies
from app.desk import rooms_pages as rooms_desk
from app.desk import talk_pages as talk_desk
from app.desk.ws import desk_websocket
from app.metrics import api as metrics
from app.notifications import api as notifications
from app.people import accesskeys_api as accesskeys
from app.people import agents_api as agents
from app.people import customer_api as customer
from app.people import me_api as me
from app.reports import api as reports
from app.routing import teams_api as teams
from app.sla import api as sla
from app.talk import api as talks
from app.webhooks import api as webhooks
from app.widget import doors as widget

ROOT = Path(__file__).resolve().parent.parent
"""The project directory, holding templates/ and static/ beside the app package."""


def route_handlers() -> list[Any]:
    api = Router(
        path="/",
        route_handlers=[
            agents.AgentController,
            me.MeController,
            teams.TeamController,
            accesskeys.AccessKeyController,
            customer.CustomerController,
            conversations.ConversationController,
            accounts.AccountController,
            accounts.setup_conversation,
            webhooks.WebhookDeliveryController,
            talks.TalkController,
            talks.ReactionController,
            talks.talk_file,
            audit.AuditLogController,
            me.MeController,
            rooms_api.RoomActionsController,
            notifications.NotificationController,
            canned.CannedResponseController,
            contacts.ContactController,
            contacts.TagController,
            csat.CsatResponseController,
            business_hours.BusinessHoursController,
            sla.SlaPolicyController,
            sla.ConversationSlaController,
            reports.ReportController,
            automation.AutomationRuleController,
            automation.MacroController,
            automation.run_macro,
        ],
        dependencies=PRINCIPAL,
        before_request=check_api_input,
    )
    auth = Router(path="/", route_handlers=[login], before_request=check_api_input)
    # The desk: its own errors become pages or alerts, not JSON envelopes.
    pages = Router(
        path="/",
        route_handlers=[
            desk.DeskController,
            talk_desk.TalkDeskController,
            rooms_desk.RoomsDeskController,
            desk_replies.ScheduledDeskController,
        ],
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
        *admin_accesskeys.ROUTES,
        *profile.ROUTES,
        *admin_audit.ROUTES,
        *admin_agents.ROUTES,
        *admin_teams.ROUTES,
        *admin_hours.ROUTES,
        *admin_sla.ROUTES,
        *admin_automation.ROUTES,
        *notifications_desk.ROUTES,
        *canned_pages.ROUTES,
        *macros_pages.ROUTES,
        *contacts_pages.ROUTES,
        *reports_pages.ROUTES,
        *widget.ROUTES,
        *csat_page.ROUTES,
        healthz,
        metrics.metrics,
        api_websocket,
        desk_websocket,
        create_static_files_router(path="/static", directories=[ROOT / "static"]),
    ]

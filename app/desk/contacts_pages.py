"""Contacts (`/contacts`): search and list the customer's contacts, and a contact's profile
— addresses, tags, attributes, notes and every conversation on every channel, with an edit
form and address add/remove. The same service functions as `/v1.0/contacts`; this module
reads forms and picks templates. Works without JavaScript (forms that redirect back); kept
live by the desk socket (`page=contacts`, app/desk/live_contacts.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from app.contacts import service as contacts
from app.contacts import tags as tag_service
from app.core.events import last_event_id
from app.desk.admin_kit import form_text, page_router
from app.desk.forms import FormRefused, convert
from app.desk.render import contact_title
from app.desk.session import DESK_PRINCIPAL
from app.domain.errors import InvalidInput, ServiceError
from app.domain.principal import Principal
from app.domain.resources import ContactAddressIn, ContactCreate, ContactUpdate
from app.people import agents

LABELS = {
    "first_name": "The first name",
    "last_name": "The last name",
    "display_name": "The display name",
    "company": "The company",
    "job_title": "The job title",
    "notes": "The notes",
    "target": "The address",
    "type": "The channel",
}
EDITABLE = ("first_name", "last_name", "display_name", "company", "job_title", "notes")
__all__ = ["ROUTES", "card_context", "contact_title"]

ADDRESS_TYPES = [
    ("tel", "Phone (SMS)"),
    ("email", "Email"),
    ("whatsapp", "WhatsApp"),
    ("line", "LINE"),
    ("webchat", "Web chat"),
]


async def card_context(principal: Principal, contact_id: str) -> dict[str, Any]:
    """The profile: the contact, its tags' names, its conversations the agent may see."""
    contact = await contacts.get_contact(principal, contact_id)
    rooms, more = await contacts.contact_conversations(principal, contact_id, 100)
    tags, _ = await tag_service.list_tags(principal, 100)
    return {
        "contact": contact,
        "rooms": rooms,
        "more_rooms": bool(more),
        "tag_names": {t.id: t.name for t in tags},
        "all_tags": tags,
        "address_types": ADDRESS_TYPES,
    }


async def _page(
    principal: Principal,
    q: str = "",
    contact_id: str | None = None,
    *,
    error: str = "",
    status_code: int = 200,
) -> Template:
    since = await last_event_id(principal.customer_id)  # first: what commits later is pushed
    rows, _ = await contacts.list_contacts(principal, q or None, 50)
    context: dict[str, Any] = {
        "principal": principal,
        "me_name": await agents.display_name(principal),
        "nav_active": "contacts",
        "since": since,
        "q": q,
        "rows": rows,
        "error": error,
        "contact": None,
    }
    if contact_id:
        context |= await card_context(principal, contact_id)
    return Template("contacts.html", context=context, status_code=status_code)


def _back(contact_id: str, **params: str) -> Redirect:
    query = "&".join(f"{k}={quote(v)}" for k, v in params.items() if v)
    return Redirect(f"/contacts/{contact_id}{'?' + query if query else ''}", status_code=303)


class ContactsController(Controller):
    path = "/"
    dependencies = DESK_PRINCIPAL
    include_in_schema = False

    @get("/")
    async def contacts_page(self, principal: Principal, q: str = "") -> Template:
        return await _page(principal, q.strip()[:200])

    @get("/{contact_id:str}")
    async def contact_page(
        self, principal: Principal, contact_id: str, q: str = "", error: str = ""
    ) -> Template:
        return await _page(principal, q.strip()[:200], contact_id, error=error[:300])

    @post("/")
    async def create(self, request: Request, principal: Principal) -> Response:
        form = await request.form()
        values = {k: form_text(form, k) for k in ("first_name", "last_name")}
        addresses = []
        if target := form_text(form, "target"):
            addresses.append({"type": form_text(form, "type") or "tel", "target": target})
        try:
            data = convert(
                {**values, "source": "manual", "addresses": addresses}, ContactCreate, LABELS
            )
            made = await contacts.create_contact(principal, data)
        except ServiceError as exc:
            return await _page(principal, error=exc.message, status_code=exc.status_code)
        return _back(made.id)

    @post("/{contact_id:str}")
    async def edit(self, request: Request, principal: Principal, contact_id: str) -> Response:
        form = await request.form()
        values = {k: form_text(form, k) for k in EDITABLE if k in form}
        if "notes" in form:  # notes keep their line breaks
            notes = form.get("notes")
            values["notes"] = notes.strip() if isinstance(notes, str) else ""
        try:
            data = convert(values, ContactUpdate, LABELS)
            await contacts.update_contact(principal, contact_id, data)
        except InvalidInput as exc:
            return await _page(principal, "", contact_id, error=exc.message, status_code=422)
        return _back(contact_id)

    @post("/{contact_id:str}/addresses")
    async def add_address(
        self, request: Request, principal: Principal, contact_id: str
    ) -> Response:
        form = await request.form()
        try:
            body = {"type": form_text(form, "type"), "target": form_text(form, "target")}
            if not body["target"]:
                raise FormRefused("invalid_form", "Enter the address to add.", "target")
            data = convert(body, ContactAddressIn, LABELS)
            await contacts.add_address(principal, contact_id, data)
        except (InvalidInput, ServiceError) as exc:
            if exc.status_code == 404:
                raise
            return await _page(
                principal, "", contact_id, error=exc.message, status_code=exc.status_code
            )
        return _back(contact_id)

    @post("/{contact_id:str}/addresses/{address_id:str}/remove")
    async def remove_address(
        self, principal: Principal, contact_id: str, address_id: str
    ) -> Response:
        await contacts.delete_address(principal, contact_id, address_id)
        return _back(contact_id)

    @post("/{contact_id:str}/tags")
    async def add_tag(self, request: Request, principal: Principal, contact_id: str) -> Response:
        form = await request.form()
        await contacts.add_tag(principal, contact_id, form_text(form, "tag_id"))
        return _back(contact_id)

    @post("/{contact_id:str}/tags/{tag_id:str}/remove")
    async def remove_tag(self, principal: Principal, contact_id: str, tag_id: str) -> Response:
        await contacts.remove_tag(principal, contact_id, tag_id)
        return _back(contact_id)


ROUTES: list = [page_router("/contacts", ContactsController)]

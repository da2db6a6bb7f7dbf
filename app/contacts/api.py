"""`/v1.0/contacts` and `/v1.0/tags`: people reached at several addresses across channels
(VoIPBIN's contact), and the tags used on contacts and conversations."""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter

from app.api.idempotency import idempotent
from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.contacts import service as contacts
from app.contacts import tags
from app.domain.errors import Conflict, Forbidden
from app.domain.principal import Principal
from app.domain.resources import (
    ContactAddressIn,
    ContactAddressUpdate,
    ContactCreate,
    ContactMergeIn,
    ContactOut,
    ContactPage,
    ContactTagIn,
    ContactUpdate,
    ConversationPage,
    TagCreate,
    TagOut,
    TagPage,
    TagUpdate,
)


class ContactController(Controller):
    path = "/v1.0/contacts"
    tags = ["contacts"]

    @get("/")
    async def list_contacts(
        self,
        principal: Principal,
        q: str | None = Parameter(
            default=None,
            max_length=200,
            description="Contacts a name word, a whole name or an address of starts with"
            " this (any case; a phone number with or without its `+`), ordered by that"
            " word; the page token is then opaque.",
        ),
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> ContactPage:
        """The customer's contacts, newest first (or the matches of `q`). Any agent."""
        result, token = await contacts.list_contacts(principal, q, page_size, page_token)
        return ContactPage(result=result, next_page_token=token)

    @post("/", opt=answers(Conflict, idempotent=True))
    async def create_contact(
        self, request: Request, principal: Principal, data: ContactCreate
    ) -> Response[ContactOut]:
        """Create a contact with its addresses (`type` tel|email|line|webchat|whatsapp,
        normalised as a participant's), tags and attributes. An address another contact
        holds is a `409 address_taken` naming that contact; the rooms where the address
        already takes part link to the new contact. Any agent."""
        return await idempotent(
            request, principal, lambda: contacts.create_contact(principal, data)
        )

    @get("/{contact_id:str}")
    async def get_contact(self, principal: Principal, contact_id: str) -> ContactOut:
        """One contact, with its addresses and tags. Any agent of the customer."""
        return await contacts.get_contact(principal, contact_id)

    @put("/{contact_id:str}")
    async def update_contact(
        self, principal: Principal, contact_id: str, data: ContactUpdate
    ) -> ContactOut:
        """Change a contact: only the fields given change; `attributes` given replaces the
        whole object. Any agent."""
        return await contacts.update_contact(principal, contact_id, data)

    @delete("/{contact_id:str}", status_code=200, opt=answers(Forbidden))
    async def delete_contact(self, principal: Principal, contact_id: str) -> ContactOut:
        """Delete a contact: its addresses are free again; its rooms stay and no longer
        name it. Admins and managers."""
        return await contacts.delete_contact(principal, contact_id)

    @post("/{contact_id:str}/addresses", status_code=200, opt=answers(Conflict))
    async def add_address(
        self, principal: Principal, contact_id: str, data: ContactAddressIn
    ) -> ContactOut:
        """Add an address (`409 address_taken` when another contact holds it, naming
        it). The next message from that address finds this contact. Returns the contact."""
        return await contacts.add_address(principal, contact_id, data)

    @put("/{contact_id:str}/addresses/{address_id:str}", opt=answers(Conflict))
    async def update_address(
        self, principal: Principal, contact_id: str, address_id: str, data: ContactAddressUpdate
    ) -> ContactOut:
        """Change an address; `is_primary: true` makes the others of its type not primary."""
        return await contacts.update_address(principal, contact_id, address_id, data)

    @delete("/{contact_id:str}/addresses/{address_id:str}", status_code=200)
    async def delete_address(
        self, principal: Principal, contact_id: str, address_id: str
    ) -> ContactOut:
        """Remove an address (free for another contact then). Returns the contact."""
        return await contacts.delete_address(principal, contact_id, address_id)

    @post("/{contact_id:str}/tags", status_code=200)
    async def add_tag(
        self, principal: Principal, contact_id: str, data: ContactTagIn
    ) -> ContactOut:
        """Tag the contact (`tag_id`: a tag of the customer, else `422`)."""
        return await contacts.add_tag(principal, contact_id, data.tag_id)

    @delete("/{contact_id:str}/tags/{tag_id:str}", status_code=200)
    async def remove_tag(self, principal: Principal, contact_id: str, tag_id: str) -> ContactOut:
        """Take a tag off the contact."""
        return await contacts.remove_tag(principal, contact_id, tag_id)

    @get("/{contact_id:str}/conversations")
    async def contact_conversations(
        self,
        principal: Principal,
        contact_id: str,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> ConversationPage:
        """The conversations the contact takes part in, on every channel, that the caller
        may see; newest first."""
        result, token = await contacts.contact_conversations(
            principal, contact_id, page_size, page_token
        )
        return ConversationPage(result=result, next_page_token=token)

    @post("/{contact_id:str}/merge", status_code=200)
    async def merge_contact(
        self, principal: Principal, contact_id: str, data: ContactMergeIn
    ) -> ContactOut:
        """Merge the contact `contact_id` (in the body) into this one: its addresses, tags
        and conversations move here, attributes combine (this one's win), notes are
        appended; the other is deleted (`contact_deleted`, then `contact_merged` with this
        one). In the audit log. Any agent."""
        return await contacts.merge(principal, contact_id, data)


class TagController(Controller):
    path = "/v1.0/tags"
    tags = ["tags"]

    @get("/")
    async def list_tags(
        self,
        principal: Principal,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> TagPage:
        """The customer's tags, newest first. Any agent."""
        result, token = await tags.list_tags(principal, page_size, page_token)
        return TagPage(result=result, next_page_token=token)

    @post("/", opt=answers(Forbidden, Conflict, idempotent=True))
    async def create_tag(
        self, request: Request, principal: Principal, data: TagCreate
    ) -> Response[TagOut]:
        """Create a tag (`name` unique per customer in any case: else `409`). A
        conversation's `tags` are names: a room tagged with this name has this tag.
        Admins and managers."""
        return await idempotent(request, principal, lambda: tags.create_tag(principal, data))

    @get("/{tag_id:str}")
    async def get_tag(self, principal: Principal, tag_id: str) -> TagOut:
        """One tag, by its id. Any agent of the customer."""
        return await tags.get_tag(principal, tag_id)

    @put("/{tag_id:str}", opt=answers(Forbidden, Conflict))
    async def update_tag(self, principal: Principal, tag_id: str, data: TagUpdate) -> TagOut:
        """Rename a tag or change its detail; a new name renames it on every conversation
        that has it (`conversation_updated` for each). Admins and managers."""
        return await tags.update_tag(principal, tag_id, data)

    @delete("/{tag_id:str}", status_code=200, opt=answers(Forbidden))
    async def delete_tag(self, principal: Principal, tag_id: str) -> TagOut:
        """Delete a tag: it leaves every contact and conversation that had it. Admins and
        managers."""
        return await tags.delete_tag(principal, tag_id)

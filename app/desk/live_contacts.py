"""What a contact or tag event means for the Contacts page (`page=contacts`).

- A contact's row in the list (`contact-row-<id>`) is pushed again where the page shows
  it; a new contact goes to the top of a page that lists every contact (not a search,
  whose order is by the matching word); a deleted (or merged-away) contact's row goes.
- The open profile (`contact-card`) is pushed again when its contact changes (or says it
  was deleted), and when a tag is renamed or deleted (it shows tag names).

Pushed as the same partials the page renders (`oob=True`)."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from app.core.events import StoredEvent
from app.desk import contacts_pages
from app.desk.render import remove, render
from app.domain.enums import EventType
from app.domain.errors import ServiceError
from app.domain.principal import Principal
from app.domain.resources import ContactOut

GONE = frozenset({EventType.CONTACT_DELETED})
TAG_EVENTS = frozenset({EventType.TAG_UPDATED, EventType.TAG_DELETED})


class Watcher(Protocol):
    principal: Principal
    page: str
    contact_id: str | None
    contact_q: str


async def fragments(conn: Watcher, event: StoredEvent, data: dict[str, Any]) -> list[str]:
    if conn.page != "contacts":
        return []
    if event.type in TAG_EVENTS:
        return [await _card(conn)] if conn.contact_id else []
    contact_id = str(data.get("id") or "")
    out: list[str] = []
    if event.type in GONE:
        out.append(remove(f"contact-row-{contact_id}"))
    else:
        contact = msgspec.convert(data, ContactOut)
        out.append(
            render(
                "partials/contact_row.html",
                c=contact,
                current_id=conn.contact_id,
                place="top"
                if event.type == EventType.CONTACT_CREATED and not conn.contact_q
                else "swap",
                oob=True,
            )
        )
    if conn.contact_id == contact_id:
        out.append(await _card(conn))
    return out


async def _card(conn: Watcher) -> str:
    assert conn.contact_id is not None
    try:
        context = await contacts_pages.card_context(conn.principal, conn.contact_id)
    except ServiceError:  # deleted, or merged into another
        return render("partials/contact_card.html", contact=None, gone=True, oob=True)
    return render("partials/contact_card.html", principal=conn.principal, oob=True, **context)

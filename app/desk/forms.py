"""What the desk's forms may send, checked in one place.

Every desk, Talk and admin route runs `check_input` before its handler: a query parameter,
form field or file name holding a character PostgreSQL cannot store is refused with the
field's name in plain words, and a form that cannot be decoded at all (a broken
multipart body, an unknown charset) is a clear 400 rather than a crash. Handlers turn
form values into resource shapes with `convert`, whose refusals are worded by
`app.domain.explain` — an agent never reads validator text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException

from app.domain.errors import BadRequest, InvalidInput
from app.domain.explain import explain, field_of, label_for, unstorable_message
from app.domain.text import unstorable_char

LABELS: dict[str, str] = {
    # the desk's inputs, as the page labels them
    "text": "The message",
    "mode": "Reply or note",
    "participant_id": "The channel to send by",
    "files": "The file name",
    "owner_id": "The assignee",
    "status": "The status",
    "tags": "Tags",
    "type": "The type",
    "target": "The address",
    "target_name": "The name",
    "q": "The search",
    "tag": "The tag filter",
    "view": "The view",
    "channel": "The channel filter",
    "after": "The 'load more' link",
    "before": "The 'older messages' link",
    "name": "The name",
    "detail": "The description",
    "parent_id": "The thread",
    "participant_ids": "The people",
    "agent_id": "The agent",
    "emoji": "The reaction",
    "to": "To",
    "webhook_uri": "The endpoint URL",
    "webhook_method": "The method",
    "webhook_events": "The event types",
    "event_type": "The event type",
    "page_token": "The page link",
    "username": "The username",
    "password": "The password",
    "next": "The page to return to",
}


class FormRefused(InvalidInput):
    """A form value the desk refuses; `field` is the input it is about (or "")."""

    def __init__(self, reason: str, message: str, field: str = "") -> None:
        super().__init__(reason, message)
        self.field = field


def refuse_unstorable(
    values: Mapping[str, Any] | Iterable[tuple[str, Any]], labels: Mapping[str, str] | None = None
) -> None:
    """Refuse the first value (a string, or an upload's file name) that holds a
    character that cannot be stored."""
    items = values.items() if isinstance(values, Mapping) else values
    for name, value in items:
        for one in value if isinstance(value, list) else [value]:
            text = one.filename if isinstance(one, UploadFile) else one
            if not isinstance(text, str):
                continue
            for part in (name, text):
                character = unstorable_char(part)
                if character:
                    field = name if part is text and not unstorable_char(name) else ""
                    label = label_for(field, {**LABELS, **(labels or {})}) if field else "A field"
                    raise FormRefused(
                        "unstorable_character", unstorable_message(label, character), field
                    )


async def read_form(request: Request, labels: Mapping[str, str] | None = None) -> FormMultiDict:
    """The request's form (empty when the body is not a form), with nothing unstorable
    in it; a form that cannot be decoded is a `BadRequest` in plain words."""
    content_type = request.content_type[0]
    if content_type not in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
        return FormMultiDict()
    try:
        form = await request.form()
    except (UnicodeDecodeError, LookupError, ClientException):
        # not UTF-8, a charset Python does not know, or a broken multipart body
        raise BadRequest("unreadable_form", UNREADABLE) from None
    refuse_unstorable(form.multi_items(), labels)
    return form


UNREADABLE = "The form could not be read (it was not sent as UTF-8 text); try again."


async def check_input(request: Request, labels: Mapping[str, str] | None = None) -> None:
    """The desk's `before_request`: nothing unstorable reaches a handler, and a form
    that cannot be read is refused plainly. (Litestar keeps the parsed form, so the
    handler does not read the body again.)"""
    refuse_unstorable(request.query_params.items(), labels)
    if request.method in ("POST", "PUT", "PATCH"):
        await read_form(request, labels)


def convert(data: dict[str, Any], kind: type, labels: Mapping[str, str] | None = None) -> Any:
    """`msgspec.convert` for form input: a refused value becomes a `FormRefused` that says
    in plain words what is wrong and names the field."""
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = field_of(message)
        raise FormRefused(
            "invalid_form", explain(message, {**LABELS, **(labels or {})}), field
        ) from None

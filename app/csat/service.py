"""Satisfaction surveys: scheduled when a room closes, answered once, read by the API, the
desk, the widget and the survey page.

- **Scheduling.** `room_closed` runs in the transaction that closes a room (an agent, a
  bulk action, the lifecycle). The survey goes to whoever wrote last, over the channel
  account that message came by, when that account has `csat` on; it is due `csat_delay`
  seconds later, and `csat.sender` sends it then. One survey per room, ever (a unique
  index): closing again after a reopen schedules nothing more, unless the first never
  went out.
- **Answers.** Three doors, one rule (`record_answer`): the widget's buttons, the email
  link's page, and — over SMS, LINE and WhatsApp — the customer's next message when it is
  a digit 1-5 (`awaiting_text_answer`, which `conversations.messages.receive` asks only
  when a message reads like a rating and no open room takes it). An answer is the room's
  `csat_responses` row, the room's `csat`, `csat_response_created`, the room's
  `conversation_updated` and a timeline line, in one transaction.

Lock order, as everywhere: the room, then its survey.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec

from app.channels import account_store
from app.channels.account_store import AccountRow
from app.conversations import activities
from app.conversations import message_store as messages_store
from app.conversations import store as conversations_store
from app.conversations.shapes import room_event, room_out
from app.conversations.store import ParticipantRow, RoomRow
from app.core.events import transaction
from app.core.ids import found, parse_id
from app.csat import shapes, store
from app.csat.store import ResponseFilter, SurveyRow
from app.domain import csat as rules
from app.domain.enums import ConversationStatus, EventType, ParticipantType
from app.domain.errors import BadRequest, Conflict, InvalidInput, NotFound
from app.domain.principal import Principal
from app.domain.resources import CsatResponseOut
from app.domain.timefmt import now, time_parameter

# --- scheduling -------------------------------------------------------------------------


async def room_closed(room: RoomRow, at: datetime) -> None:
    """The room was just closed (in the caller's transaction, the room locked): schedule
    its survey if the channel the customer last wrote on asks for one. `at` is the
    close's time (the lifecycle's clock)."""
    last = await messages_store.last_inbound(room.id)
    if last is None:  # the customer never wrote: nobody to ask
        return
    account = await account_store.live_of_customer_by_id(
        str(room.customer_id), str(last.account_id)
    )
    if account is None:
        return
    settings = rules.settings_of(account.settings)
    if not settings.enabled:
        return
    await store.schedule(
        customer_id=room.customer_id,
        conversation_id=room.id,
        account_id=account.id,
        participant_id=last.participant_id,
        target_type=last.type,
        target=last.target,
        contact_id=last.contact_id,
        agent_id=room.owner_id,
        due_at=at + timedelta(seconds=settings.delay),
        at=at,
    )


# --- answering --------------------------------------------------------------------------


async def record_answer(
    survey: SurveyRow, room: RoomRow, rating: int, comment: str
) -> CsatResponseOut | None:
    """The customer's answer, in the caller's transaction with the room and the survey
    locked; None when the room was rated already."""
    if not 1 <= rating <= 5:
        raise InvalidInput("invalid_rating", "A rating is a whole number from 1 to 5.")
    comment = rules.clean_comment(comment)
    at = now()
    row = await store.insert_response(survey, rating, comment, at)
    if row is None:
        return None
    await store.set_status(survey.id, store.ANSWERED, at)
    out = await shapes.response_event(row, room.owner_id)
    room = await conversations_store.set_csat(room.id, rating, at)
    await room_event(EventType.CONVERSATION_UPDATED, await room_out(room))
    await activities.record(room, activities.SYSTEM, rules.rated_line(rating, comment))
    return out


class Awaiting(msgspec.Struct, frozen=True, kw_only=True):
    """A survey a text message may answer, with its room (closed) and the participant it
    went to, both locked."""

    survey: SurveyRow
    room: RoomRow
    participant: ParticipantRow


async def awaiting_text_answer(
    customer_id: str, ptype: ParticipantType, address: str
) -> Awaiting | None:
    """The survey sent to this SMS, LINE or WhatsApp address within the reply window that
    its next message answers, if any: its room must still be closed (an open room takes
    the message as usual). Runs in the inbound transaction, under the address's lock."""
    if ptype not in rules.TEXT_ADDRESSES:
        return None
    survey = await store.awaiting_text(
        customer_id, ptype.value, address, now() - rules.REPLY_WINDOW
    )
    if survey is None:
        return None
    room = await conversations_store.visible_room(
        customer_id, str(survey.conversation_id), lock=True
    )
    if room is None or room.status != ConversationStatus.CLOSED.value:
        return None
    locked = await store.lock(survey.id)
    if locked is None or locked.status != store.SENT:
        return None
    participant = await conversations_store.live_participant_by_id(
        room.id, str(locked.participant_id)
    )
    if participant is None:
        return None
    return Awaiting(survey=locked, room=room, participant=participant)


SURVEY_NOT_FOUND = NotFound("survey_not_found", "There is no such survey.")
ALREADY = Conflict("survey_answered", "Thanks — your rating was already recorded.")
CLOSED = Conflict("survey_closed", "This survey has closed.")


async def _answer(
    survey: SurveyRow, rating: int, comment: str, window: timedelta
) -> CsatResponseOut:
    """An answer given by clicking (the widget, the email link's page)."""
    async with transaction():
        room = await conversations_store.visible_room(
            str(survey.customer_id), str(survey.conversation_id), lock=True
        )
        locked = await store.lock(survey.id)
        if room is None or locked is None:
            raise CLOSED
        if locked.status == store.ANSWERED:
            raise ALREADY
        assert locked.sent_at is not None  # only a sent survey was handed out
        if locked.sent_at + window < now():
            raise CLOSED
        out = await record_answer(locked, room, rating, comment)
        if out is None:
            raise ALREADY
        return out


def _sent(survey: SurveyRow | None) -> SurveyRow:
    if survey is None or survey.status not in (store.SENT, store.ANSWERED):
        raise SURVEY_NOT_FOUND
    return survey


# --- the email link's page --------------------------------------------------------------


class LinkSurvey(msgspec.Struct, frozen=True, kw_only=True):
    """What the survey page shows."""

    question: str
    answered: bool
    rating: int | None = None
    closed: bool = False


def token_for(key: str, survey_id: uuid.UUID | str) -> str:
    return rules.token_for(key, survey_id)


async def _by_token(key: str, token: str) -> SurveyRow:
    survey_id = rules.survey_of_token(key, token)
    if survey_id is None:
        raise SURVEY_NOT_FOUND
    return _sent(await store.by_id(survey_id))


async def link_survey(key: str, token: str) -> LinkSurvey:
    """The survey a link names (`key` is the secret key that signed it); NotFound when
    the token is not one we made."""
    survey = await _by_token(key, token)
    question = rules.shown_question(survey.question)
    if survey.status == store.ANSWERED:
        rated = await store.response_of_room(survey.conversation_id)
        return LinkSurvey(question=question, answered=True, rating=rated.rating if rated else None)
    assert survey.sent_at is not None
    closed = survey.sent_at + rules.LINK_WINDOW < now()
    return LinkSurvey(question=question, answered=False, closed=closed)


async def answer_link(key: str, token: str, rating: int, comment: str) -> CsatResponseOut:
    """The survey page's form: recorded once (a second answer is `survey_answered`)."""
    survey = await _by_token(key, token)
    return await _answer(survey, rating, comment, rules.LINK_WINDOW)


# --- the web chat widget ----------------------------------------------------------------


class WidgetSurvey(msgspec.Struct, frozen=True, kw_only=True):
    """The widget's rating card."""

    id: str
    question: str


async def widget_survey(account: AccountRow, visitor_id: str) -> WidgetSurvey | None:
    """The survey the widget should show this visitor (a reload shows it again)."""
    survey = await store.awaiting_visitor(account.id, visitor_id, now() - rules.LINK_WINDOW)
    if survey is None:
        return None
    return WidgetSurvey(id=str(survey.id), question=rules.shown_question(survey.question))


async def answer_widget(
    account: AccountRow, visitor_id: str, survey_id: str, rating: int, comment: str
) -> CsatResponseOut:
    """The widget's card: only the visitor it was shown to, on this account, may answer."""
    survey_id = parse_id(survey_id, "survey_not_found", "survey")
    survey = _sent(await store.by_id(survey_id))
    if (
        survey.account_id != account.id
        or survey.target_type != ParticipantType.WEBCHAT.value
        or survey.target != visitor_id
    ):
        raise SURVEY_NOT_FOUND
    return await _answer(survey, rating, comment, rules.LINK_WINDOW)


# --- reading ----------------------------------------------------------------------------


def _uuid(name: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadRequest("invalid_parameter", f"{name} must be an id.") from None


def response_filter(
    principal: Principal,
    *,
    since: str | None = None,
    until: str | None = None,
    conversation_id: str | None = None,
    agent_id: str | None = None,
    rating: int | None = None,
) -> ResponseFilter:
    """The list's filters as the API takes them (text), checked: a malformed time or id is
    a 400 naming the parameter. An agent sees the ratings of the rooms it may see."""
    if rating is not None and not 1 <= rating <= 5:
        raise BadRequest("invalid_parameter", "rating must be 1 to 5.")
    return ResponseFilter(
        viewer=None if principal.sees_all_conversations else principal.agent_id,
        since=time_parameter("from", since),
        until=time_parameter("to", until),
        conversation_id=_uuid("conversation_id", conversation_id),
        agent_id=_uuid("agent_id", agent_id),
        rating=rating,
    )


async def list_responses(
    principal: Principal, f: ResponseFilter, page_size: int = 100, page_token: str | None = None
) -> tuple[list[CsatResponseOut], str]:
    rows, token = await store.page(principal.customer_id, f, page_size, page_token)
    return [shapes.response_out(r) for r in rows], token


async def get_response(principal: Principal, response_id: str) -> CsatResponseOut:
    response_id = parse_id(response_id, "csat_response_not_found", "rating")
    viewer = None if principal.sees_all_conversations else principal.agent_id
    row = await store.response(principal.customer_id, response_id, viewer)
    return shapes.response_out(found(row, "csat_response_not_found", "rating"))


async def response_of_room(room_id: str) -> CsatResponseOut | None:
    """A room's rating and comment (the desk's room panel, for a room the agent sees)."""
    row = await store.response_of_room(room_id)
    return shapes.response_out(row) if row is not None else None

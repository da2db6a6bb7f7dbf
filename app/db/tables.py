"""Piccolo tables. Rows only: the rules about them live in the feature packages' services.

Conventions: ids are UUIDs (events use an ordered bigint so readers can resume by id);
times are timestamptz in UTC; `tm_delete` is NULL for a live row (the API shows it as
"9999-01-01 00:00:00.000000"); default times are taken per row in Python, so rows written
in one transaction still get distinct, ordered `tm_create` values.
Indexes that Piccolo cannot express (partial, multi-column) are created in the migrations.
"""

from piccolo.columns import (
    JSON,
    JSONB,
    UUID,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    SmallInt,
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
    webhook_events = Array(base_column=Varchar(length=64), default=list)
    """The event types sent to `webhook_uri`; empty sends every type."""
    webhook_secret_previous = Text(default="")
    """The secret before the last rotation: it signs beside the current one for a grace
    period after `webhook_secret_rotated_at`, so receivers can switch without a gap."""
    webhook_secret_rotated_at = Timestamptz(null=True, default=None)
    webhook_disabled_at = Timestamptz(null=True, default=None)
    """Set when the endpoint answered 410 Gone: nothing is sent (deliveries wait) until
    the webhook settings are saved again."""
    webhook_disabled_reason = Text(default="")
    webhook_event_cursor = BigInt(default=0)
    """The last event the webhook dispatcher has turned into deliveries."""
    events_pruned_through = BigInt(default=0)
    """The last event id of this customer that retention has pruned: a reader resuming
    from before it may have lost events and must start afresh."""
    business_hours_id = UUID(null=True, default=None)
    """The calendar of teams that have none of their own (migration 0029)."""
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
    status = Varchar(length=16, default="active")
    """`active`, or `deactivated`: a deactivated agent cannot sign in, and its tokens and
    access keys stop working at once."""
    availability = Varchar(length=16, default="offline")
    """`online`, `away` or `offline`: routing gives rooms only to online agents."""
    default_availability = Varchar(length=16, default="online")
    auto_offline = Boolean(default=False)
    """Set when the agent went offline by itself (no desk open for a while): it comes back
    online when it returns."""
    max_open = Integer(null=True, default=None)
    """How many open rooms routing may give the agent; null: each team's `max_open`."""
    tm_seen = Timestamptz(null=True, default=None)
    """The last sign of life from one of the agent's desk connections."""
    signature = Text(default="")
    """Appended to the agent's replies on accounts whose `signature` setting is `below`."""
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
    """One failed sign-in; counted per username and per client address to throttle
    password guessing."""

    id = BigSerial(primary_key=True)
    username = Varchar(length=255)
    address = Varchar(length=255, default="", index=True)
    tm_create = Timestamptz(default=TimestamptzNow())


class Event(Table, tablename="events"):
    """The event stream: every change, in commit order by id, for every reader."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    type = Varchar(length=64)
    topics = Array(base_column=Text())
    payload = JSON()
    """`json`, not `jsonb`: the resource's bytes exactly as the API wrote them, field
    order included, for frames and webhook bodies."""
    audience = Array(base_column=UUID(), default=list)
    """Empty: everyone of the customer may see it. Otherwise admins and managers, and
    these agents (a room assigned to an agent is hidden from the other agents); for talk
    events, these agents only (enums.is_private_to_audience)."""
    tm_create = Timestamptz(default=TimestamptzNow())


class ChannelAccount(Table, tablename="channel_accounts"):
    """A connected channel: a Twilio number, a mailbox, a LINE channel, a web chat widget.
    `type` names its driver in app/channels; `address` is the customer's own address on it."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    type = Varchar(length=16)
    name = Varchar(length=255, default="")
    detail = Text(default="")
    address = Text(default="")
    settings = JSONB(default={})
    secrets = JSONB(default={})
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class Conversation(Table, tablename="conversations"):
    """A room: every message with one person, whatever channel it came by."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    account_id = UUID(null=True, default=None)
    name = Varchar(length=255, default="")
    detail = Text(default="")
    status = Varchar(length=16, default="active")
    reference_type = Varchar(length=16)
    reference_id = Text(default="")
    owner_type = Varchar(length=16, default="")
    owner_id = UUID(null=True, default=None)
    tags = Array(base_column=Text(), default=list)
    team_id = UUID(null=True, default=None)
    priority = Varchar(length=8, default="none")
    assignment_reason = Text(default="")
    """Why the room has its assignee, or is waiting (routing writes it)."""
    tm_queued = Timestamptz(null=True, default=None)
    """Waiting in its team's queue since; null unless waiting."""
    tm_assigned = Timestamptz(null=True, default=None)
    tm_awaiting_reply = Timestamptz(null=True, default=None)
    """Routing gave the room to its assignee then, and the assignee has not replied since;
    null otherwise (the reassign-after timer's key)."""
    reassigned_from = UUID(null=True, default=None)
    """The agent who did not answer the room in time, or let it go: routing does not give
    it back to them."""
    last_message = Text(null=True, default=None)
    tm_last_message = Timestamptz(null=True, default=None)
    tm_activity = Timestamptz(default=TimestamptzNow())
    """The last message's time, or the creation time: inbox order and the idle timers."""
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)
    # --- snooze, bulk actions and merge (migration 0028): snooze and merge ---
    tm_snoozed = Timestamptz(null=True, default=None)
    """Snoozed since; null unless snoozed (the desk's open views leave it out)."""
    snoozed_until = Timestamptz(null=True, default=None)
    """The snooze ends by itself then; null: no time (until the customer replies)."""
    snooze_until_reply = Boolean(default=False)
    merged_into = UUID(null=True, default=None)
    """The room this one was merged into (this one is closed)."""
    # --- CSAT surveys (migration 0032) ---
    csat = SmallInt(null=True, default=None)
    """The customer's rating of the room (1-5), once answered (`csat_responses` has it all)."""
    # --- SLA clocks (migration 0031) ---
    sla_turn = Varchar(length=8, null=True, default=None)
    """Whom the room waits for: `customer` after a customer message, `agent` after an
    agent's reply; null before either."""
    sla_policy_id = UUID(null=True, default=None)
    sla_policy_tm = Timestamptz(null=True, default=None)
    """The version of the policy (and its calendar) the room's clocks last followed."""
    sla_kind = Varchar(length=16, null=True, default=None)
    sla_status = Varchar(length=16, null=True, default=None)
    sla_due_at = Timestamptz(null=True, default=None)
    """The room's most pressing clock: its kind, `running|warning|breached|paused` and
    due time (the inbox's badge and "breaching soon" order)."""
    sla_state = Text(null=True, default=None)
    """The room's clocks as its `sla_clocks` rows hold them (migration 0034), read with
    the room: the message path moves them without reading the clocks' table."""
    sla_next_at = Timestamptz(null=True, default=None)
    """When the SLA worker must next look at the room: the earliest due time of its
    running clocks, or warning time of those not yet warned (its scan's index)."""
    # --- reports (migration 0033): the facts the reports read, written with the change ---
    tm_first_inbound = Timestamptz(null=True, default=None)
    """The customer's first message in the room."""
    tm_first_reply = Timestamptz(null=True, default=None)
    """The first reply an agent sent after the customer's first message."""
    first_reply_agent_id = UUID(null=True, default=None)
    tm_closed = Timestamptz(null=True, default=None)
    """When the room was last closed; null while it is open."""
    # --- automation (migration 0036) ---
    tm_turn = Timestamptz(null=True, default=None)
    """When the room's turn (`sla_turn`) began: the time triggers count from it."""


class Participant(Table, tablename="participants"):
    """An address in a room: the customer's own ("me"), a peer's, or an agent."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    type = Varchar(length=16)
    target = Text()
    target_name = Varchar(length=255, default="")
    name = Varchar(length=255, default="")
    detail = Text(default="")
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)
    contact_id = UUID(null=True, default=None)
    """The contact this participant is (app/contacts/)."""


class Message(Table, tablename="messages"):
    """One message in a room, in or out, on one channel."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    participant_id = UUID(null=True, default=None)
    account_id = UUID(null=True, default=None)
    direction = Varchar(length=16)
    status = Varchar(length=16)
    reference_type = Varchar(length=16)
    reference_id = Text(default="")
    source = JSONB(default={})
    destination = JSONB(default={})
    text = Text(default="")
    medias = JSONB(default=[])
    error = Text(null=True, default=None)
    provider_message_id = Text(default="")
    """Unbounded (a provider decides its length); its indexes are on md5() of it."""
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)
    # replies (migration 0027): who sent it, and when a scheduled one is due
    agent_id = UUID(null=True, default=None)
    """The agent who sent an outbound message; null for inbound ones and access keys."""
    scheduled_at = Timestamptz(null=True, default=None)
    """When a scheduled ("send later") message is due; null for any other."""


class OutboundMessage(Table, tablename="outbound_messages"):
    """The send queue: one row per outbound message until a provider took it or it failed.
    Workers claim rows with FOR UPDATE SKIP LOCKED; a claim is a lease, so a worker that
    dies mid-send leaves the row to be picked up again when the lease runs out."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    message_id = UUID(unique=True)
    account_id = UUID()
    status = Varchar(length=16, default="queued")
    attempts = Integer(default=0)
    next_try_at = Timestamptz(default=TimestamptzNow())
    lease_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())


class IdempotencyKey(Table, tablename="idempotency_keys"):
    """The first response to a create request that carried an `Idempotency-Key`."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    key = Varchar(length=255)
    fingerprint = Varchar(length=64)
    status_code = Integer(null=True, default=None)
    response = JSONB(null=True, default=None)
    tm_create = Timestamptz(default=TimestamptzNow())


class Activity(Table, tablename="conversation_activities"):
    """What happens in a room besides messages: agents' internal notes (customers never
    receive them) and system lines (assigned, closed, participant added...)."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    kind = Varchar(length=16)
    agent_id = UUID(null=True, default=None)
    text = Text(default="")
    tm_create = Timestamptz(default=TimestamptzNow())
    mentions = JSONB(default=[])
    """A note's mentions, resolved when written: `[{"agent_id", "start", "end"}]`
    (migration 0026)."""


class ReadMark(Table, tablename="conversation_reads"):
    """Up to when an agent has read a room: its unread count is the inbound messages
    after this."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    agent_id = UUID()
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    tm_read = Timestamptz(default=TimestamptzNow())


class EarlyStatus(Table, tablename="early_statuses"):
    """A provider's delivery status that arrived before we had stored the provider's id for
    the message (the callback raced the send's response). Applied, then deleted, as soon
    as the sender records the id, so no status is lost."""

    id = BigSerial(primary_key=True)
    account_id = UUID()
    provider_message_id = Text()
    status = Varchar(length=16)
    error = Text(null=True, default=None)
    tm_create = Timestamptz(default=TimestamptzNow())


class WebhookDelivery(Table, tablename="webhook_deliveries"):
    """One event on its way to the customer's webhook endpoint: the outbox row the
    dispatcher claims (a lease, like the send queue), retries on its schedule and keeps
    as the delivery log."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    event_id = BigInt()
    event_type = Varchar(length=64)
    status = Varchar(length=16, default="pending")
    """pending (waiting for its next try), sending (leased to a worker), delivered, failed."""
    attempts = Integer(default=0)
    next_try_at = Timestamptz(null=True, default=TimestamptzNow())
    lease_until = Timestamptz(null=True, default=None)
    last_status_code = Integer(null=True, default=None)
    last_error = Text(default="")
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delivered = Timestamptz(null=True, default=None)


class WebhookAttempt(Table, tablename="webhook_attempts"):
    """One try of a delivery: where it went, what came back and how long it took."""

    id = BigSerial(primary_key=True)
    delivery_id = ForeignKey(references=WebhookDelivery, on_delete=OnDelete.cascade)
    customer_id = UUID()
    uri = Text(default="")
    status_code = Integer(null=True, default=None)
    latency_ms = Integer(default=0)
    error = Text(default="")
    response = Text(default="")
    """The start of the response body, for the log."""
    tm_create = Timestamptz(default=TimestamptzNow())


class Talk(Table, tablename="talks"):
    """The agents' own chat: a `direct` talk between exactly two agents, or a named
    `group`. `direct_key` (the two agent ids, sorted) makes a direct pair unique."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    type = Varchar(length=16, default="group")
    name = Varchar(length=255, default="")
    detail = Text(default="")
    status = Varchar(length=16, default="active")
    creator_id = UUID(null=True, default=None)
    direct_key = Text(null=True, default=None)
    tm_last_message = Timestamptz(null=True, default=None)
    """The last normal message's time: the talk list's order."""
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class TalkParticipant(Table, tablename="talk_participants"):
    """An agent in a talk: one row per (talk, agent), `active` or `left`; rejoining
    reuses the row. `tm_read` is up to when the agent has read the talk."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    talk_id = ForeignKey(references=Talk, on_delete=OnDelete.cascade)
    agent_id = UUID()
    status = Varchar(length=16, default="active")
    tm_joined = Timestamptz(default=TimestamptzNow())
    tm_left = Timestamptz(null=True, default=None)
    tm_read = Timestamptz(default=TimestamptzNow())


class TalkMessage(Table, tablename="talk_messages"):
    """A message in a talk: `normal` (an agent wrote it) or `system` (joined, left,
    closed...). A reply's `parent_id` is always its thread's root; the root counts its
    replies. Deleting is soft: the row stays so its thread keeps its root."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    talk_id = ForeignKey(references=Talk, on_delete=OnDelete.cascade)
    agent_id = UUID(null=True, default=None)
    type = Varchar(length=16, default="normal")
    text = Text(default="")
    parent_id = UUID(null=True, default=None)
    reply_count = Integer(default=0)
    medias = JSONB(default=[])
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_edit = Timestamptz(null=True, default=None)
    tm_delete = Timestamptz(null=True, default=None)


class TalkReaction(Table, tablename="talk_reactions"):
    """One agent's emoji on one talk message (unique per message, agent and emoji)."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    message_id = ForeignKey(references=TalkMessage, on_delete=OnDelete.cascade)
    agent_id = UUID()
    emoji = Varchar(length=64)
    tm_create = Timestamptz(default=TimestamptzNow())


class RejectedInbound(Table, tablename="rejected_inbound"):
    """An inbound event a provider delivered (signed) that could not become a message: a
    malformed event, a value we refuse (a `javascript:` media URL). Kept for admins to see,
    once per (account, provider event id); the provider was answered 2xx so it stops
    redelivering."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    account_id = UUID()
    provider_event_id = Text(default="")
    """LINE's webhookEventId, WhatsApp's wamid, Twilio's MessageSid, a Message-ID; "" when
    the event had none."""
    reason = Text(default="")
    excerpt = Text(default="")
    """The start of the event as received, with what PostgreSQL cannot store removed."""
    tm_create = Timestamptz(default=TimestamptzNow())


class Team(Table, tablename="teams"):
    """A group of agents and the channel accounts whose new rooms it receives, with how
    rooms are given out (`manual`, `round_robin`, `least_busy`). `rr_last_agent_id` is the
    round robin's position, kept in the database so that every process shares it."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    name = Varchar(length=255, default="")
    detail = Text(default="")
    assignment_policy = Varchar(length=16, default="manual")
    max_open = Integer(default=5)
    reassign_after = Integer(default=0)
    """Seconds an assignee may leave a room unanswered before it goes back to routing;
    0: never."""
    rr_last_agent_id = UUID(null=True, default=None)
    business_hours_id = UUID(null=True, default=None)
    """The team's calendar (migration 0029); null: the customer's."""
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class TeamMember(Table, tablename="team_members"):
    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    team_id = ForeignKey(references=Team, on_delete=OnDelete.cascade)
    agent_id = ForeignKey(references=Agent, on_delete=OnDelete.cascade)
    tm_create = Timestamptz(default=TimestamptzNow())


class TeamAccount(Table, tablename="team_accounts"):
    """A channel account whose new rooms go to the team (one team per account)."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    team_id = ForeignKey(references=Team, on_delete=OnDelete.cascade)
    account_id = ForeignKey(references=ChannelAccount, on_delete=OnDelete.cascade)
    tm_create = Timestamptz(default=TimestamptzNow())


class AuditEntry(Table, tablename="audit_log"):
    """Who did what to which thing: every admin action and every routing decision."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    actor_type = Varchar(length=16)
    """`agent`, `accesskey` or `system`."""
    actor_id = UUID(null=True, default=None)
    action = Varchar(length=64)
    target_type = Varchar(length=32)
    target_id = Text(default="")
    before = JSONB(default={})
    after = JSONB(default={})
    tm_create = Timestamptz(default=TimestamptzNow())


ALL_TABLES = [
    Customer,
    Agent,
    AccessKey,
    LoginFailure,
    Event,
    ChannelAccount,
    Conversation,
    Participant,
    Message,
    OutboundMessage,
    IdempotencyKey,
    Activity,
    ReadMark,
    EarlyStatus,
    WebhookDelivery,
    WebhookAttempt,
    Talk,
    TalkParticipant,
    TalkMessage,
    TalkReaction,
    RejectedInbound,
    Team,
    TeamMember,
    TeamAccount,
    AuditEntry,
]


# --- notifications: notifications (migration 0026) -------------------------------------------


class Notification(Table, tablename="notifications"):
    """Something an agent should look at: a mention in a note, a room assigned to it."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    agent_id = ForeignKey(references=Agent, on_delete=OnDelete.cascade)
    type = Varchar(length=16)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade, null=True)
    message_id = UUID(null=True, default=None)
    actor_id = UUID(null=True, default=None)
    text = Text(default="")
    read = Boolean(default=False)
    tm_read = Timestamptz(null=True, default=None)
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())


ALL_TABLES.append(Notification)
# --- canned replies and signatures -----------------------------------------


class CannedResponse(Table, tablename="canned_responses"):
    """A reply an agent inserts by its shortcut: the agent's own, or shared (no owner)."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    owner_id = ForeignKey(references=Agent, on_delete=OnDelete.cascade, null=True, default=None)
    """null: shared by every agent of the customer (admins manage it)."""
    name = Varchar(length=255, default="")
    shortcut = Varchar(length=64)
    """Lowercase; unique among the live replies of its scope (the owner's, or the shared)."""
    text = Text(default="")

    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


ALL_TABLES.append(CannedResponse)


# --- contacts: contacts, their addresses, search words, tags ---


class Contact(Table, tablename="contacts"):
    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    first_name = Varchar(length=255, default="")
    last_name = Varchar(length=255, default="")
    display_name = Varchar(length=255, default="")
    company = Varchar(length=255, default="")
    job_title = Varchar(length=255, default="")
    source = Varchar(length=16, default="api")
    external_id = Varchar(length=255, default="")
    notes = Text(default="")
    attributes = JSONB(default={})
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class ContactAddress(Table, tablename="contact_addresses"):
    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    contact_id = ForeignKey(references=Contact, on_delete=OnDelete.cascade)
    type = Varchar(length=16)
    target = Text()
    name = Varchar(length=255, default="")
    detail = Text(default="")
    is_primary = Boolean(default=False)
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())


class ContactWord(Table, tablename="contact_words"):
    """What the contact search matches ("starts with"), in the C collation."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    contact_id = ForeignKey(references=Contact, on_delete=OnDelete.cascade)
    word = Text()


class Tag(Table, tablename="tags"):
    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    name = Varchar(length=64)
    detail = Text(default="")
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class ContactTag(Table, tablename="contact_tags"):
    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    contact_id = ForeignKey(references=Contact, on_delete=OnDelete.cascade)
    tag_id = ForeignKey(references=Tag, on_delete=OnDelete.cascade)
    tm_create = Timestamptz(default=TimestamptzNow())


ALL_TABLES.extend([Contact, ContactAddress, ContactWord, Tag, ContactTag])


# --- service levels: business hours, SLA policies and clocks, CSAT (migration 0029) ---------


class BusinessHours(Table, tablename="business_hours"):
    """A calendar: weekly open periods and holidays, in a time zone."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    name = Varchar(length=255, default="")
    time_zone = Varchar(length=64, default="UTC")
    periods = JSONB(default=[])
    holidays = JSONB(default=[])
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class SlaPolicy(Table, tablename="sla_policies"):
    """Targets in business minutes for the rooms of a priority and a team (null: any)."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    name = Varchar(length=255, default="")
    priority = Varchar(length=16, null=True, default=None)
    team_id = UUID(null=True, default=None)
    business_hours_id = UUID(null=True, default=None)
    first_response_minutes = Integer(null=True, default=None)
    next_response_minutes = Integer(null=True, default=None)
    resolution_minutes = Integer(null=True, default=None)
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class SlaClock(Table, tablename="sla_clocks"):
    """A room's clock of one kind under its policy; `stopped_at` is when it was met or
    breached."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    policy_id = ForeignKey(references=SlaPolicy, on_delete=OnDelete.cascade)
    kind = Varchar(length=16)
    status = Varchar(length=16, default="running")
    started_at = Timestamptz(default=TimestamptzNow())
    due_at = Timestamptz(null=True, default=None)
    stopped_at = Timestamptz(null=True, default=None)
    warned_at = Timestamptz(null=True, default=None)
    tm_update = Timestamptz(default=TimestamptzNow())
    # migration 0031
    target_seconds = Integer(default=0)
    elapsed_seconds = DoublePrecision(default=0.0)
    """Business seconds counted up to `resumed_at` (while running) or to the pause."""
    resumed_at = Timestamptz(null=True, default=None)
    warn_at = Timestamptz(null=True, default=None)
    done_at = Timestamptz(null=True, default=None)
    """When the reply (or the close) ended the wait, in time or late; null while pending."""
    cycle = Integer(default=1)


class CsatResponse(Table, tablename="csat_responses"):
    """A customer's 1-5 rating of a closed room (one per room)."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    contact_id = ForeignKey(references=Contact, on_delete=OnDelete.set_null, null=True)
    agent_id = UUID(null=True, default=None)
    reference_type = Varchar(length=16)
    rating = Integer()
    comment = Text(default="")
    tm_create = Timestamptz(default=TimestamptzNow())


ALL_TABLES.extend([BusinessHours, SlaPolicy, SlaClock, CsatResponse])


class CsatSurvey(Table, tablename="csat_surveys"):
    """The one satisfaction survey a closed room may get (migration 0032): who it goes to
    (the participant who wrote last, on the account that message came by), when, and
    where it stands (`scheduled`, `sent`, `answered`, `canceled`, `skipped`)."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    account_id = UUID()
    participant_id = UUID()
    target_type = Varchar(length=16)
    target = Text()
    contact_id = UUID(null=True, default=None)
    agent_id = UUID(null=True, default=None)
    """The room's assignee when it closed: the response is theirs."""
    reference_type = Varchar(length=16, default="")
    question = Text(default="")
    status = Varchar(length=16, default="scheduled")
    due_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    message_id = UUID(null=True, default=None)
    """The question as a message of the room (not for web chat, where the widget asks)."""
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())


ALL_TABLES.append(CsatSurvey)


class ClosedReply(Table, tablename="closed_replies"):
    """A "we are closed" reply sent in a room (migration 0030): one per closed period."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    message_id = UUID()
    tm_create = Timestamptz(default=TimestamptzNow())


ALL_TABLES.append(ClosedReply)


class SlaFact(Table, tablename="sla_facts"):
    """A change of a room that its SLA clocks depend on, besides its messages (closed,
    reopened, snoozed, woke, the policy that applies): the history clocks are recomputed
    from."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    at = Timestamptz()
    kind = Varchar(length=16)
    detail = JSONB(default={})


ALL_TABLES.append(SlaFact)


# --- reports (migration 0033) ---------------------------------------------------------------


class ReportSlot(Table, tablename="report_slots"):
    """Per room, quarter of an hour (`slot`, its start) and agent: the customer's messages
    (`inbound`, under the nil agent id) and that agent's replies. One upsert per message,
    in the statement that records it on its room (conversations.store.record_message)."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    slot = Timestamptz()
    agent_id = UUID(default="00000000-0000-0000-0000-000000000000")
    inbound = Integer(default=0)
    replies = Integer(default=0)


class ReportVolume(Table, tablename="report_volume"):
    """The customer's messages and replies per quarter hour (`span` "q") and per UTC day
    ("d"): under the nil agent the customer's messages and every agent's replies, under an
    agent its own replies. Folded from the event stream (app/reports/volume.py), for the
    whole customer (`dimension` '') and per team, assignee and channel (migration 0035:
    `dimension` team, owner or channel, `dimension_key` its id or name)."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    dimension = Varchar(length=8, default="")
    dimension_key = Varchar(length=64, default="")
    span = Varchar(length=1)
    start = Timestamptz()
    agent_id = UUID()
    inbound = Integer(default=0)
    replies = Integer(default=0)


class ReportRoomCount(Table, tablename="report_room_counts"):
    """A room's share of the customer's counts (`report_volume`): per quarter hour, agent
    and the team, assignee and channel its messages were counted under (the room's when
    they were folded). Written by the fold, not by the message; what a deletion takes back
    (migration 0035)."""

    id = BigSerial(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    slot = Timestamptz()
    agent_id = UUID()
    team_id = UUID(null=True, default=None)
    owner_id = UUID(null=True, default=None)
    channel = Varchar(length=16, null=True, default=None)
    inbound = Integer(default=0)
    replies = Integer(default=0)


class ReportCursor(Table, tablename="report_cursors"):
    """How far into a customer's events `report_volume` has counted."""

    customer_id = UUID(primary_key=True)
    event_id = BigInt(default=0)
    tm_update = Timestamptz(default=TimestamptzNow())


ALL_TABLES.extend([ReportSlot, ReportVolume, ReportRoomCount, ReportCursor])


# --- automation (migration 0036) ---------------------------------------------------------


class AutomationRule(Table, tablename="automation_rules"):
    """An admin's rule: a trigger, conditions and actions (app/domain/automation.py), run
    in `position` order."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    name = Text()
    active = Boolean(default=False)
    trigger = Varchar(length=32)
    trigger_minutes = Integer(null=True, default=None)
    match = Varchar(length=8, default="all")
    conditions = JSONB(default=[])
    actions = JSONB(default=[])
    position = Integer(default=0)
    stop_processing = Boolean(default=False)
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class Macro(Table, tablename="macros"):
    """Named actions an agent applies to a room: shared (`owner_id` null) or its own."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    owner_id = ForeignKey(references=Agent, on_delete=OnDelete.cascade, null=True, default=None)
    name = Text()
    actions = JSONB(default=[])
    tm_create = Timestamptz(default=TimestamptzNow())
    tm_update = Timestamptz(default=TimestamptzNow())
    tm_delete = Timestamptz(null=True, default=None)


class AutomationRun(Table, tablename="automation_runs"):
    """One execution of a rule or macro on a room: what its conditions found and what
    each action did. Kept when its rule or macro is deleted."""

    id = UUID(primary_key=True)
    customer_id = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    rule_id = UUID(null=True, default=None)
    macro_id = UUID(null=True, default=None)
    agent_id = UUID(null=True, default=None)
    conversation_id = UUID()
    trigger = Varchar(length=32)
    depth = SmallInt(default=0)
    status = Varchar(length=16)
    conditions = JSONB(default=[])
    actions = JSONB(default=[])
    tm_create = Timestamptz(default=TimestamptzNow())


class AutomationTimer(Table, tablename="automation_timers"):
    """A time rule's record of one room's turn (`anchor`, when it began): when it is due
    in business time, and when it fired; unique per rule, room and turn."""

    id = BigSerial(primary_key=True)
    rule_id = ForeignKey(references=AutomationRule, on_delete=OnDelete.cascade)
    conversation_id = ForeignKey(references=Conversation, on_delete=OnDelete.cascade)
    anchor = Timestamptz()
    due_at = Timestamptz()
    fired_at = Timestamptz(null=True, default=None)


ALL_TABLES.extend([AutomationRule, Macro, AutomationRun, AutomationTimer])

"""Demo data: a customer with an admin and an agent, made once and reused after.

Everything goes through the services real requests use, so what a new user sees is what
the product does: the agent is created by the admin (an audit entry), the teams by the
admin's team service, availability by the agents' own switches, and the rooms arrive on
channel accounts that route to teams — so each room's assignment reason, system line,
`conversation_assigned` event and audit entry were written by routing itself.

The past is written the same way, at the times it happened (`timefmt.as_of`): a week of
rooms answered, closed and rated, and today's rooms arriving over the last forty minutes,
so SLA clocks, survey answers and every report figure are the ones live traffic leaves.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from app.automation import service as automation
from app.business_hours import service as business_hours
from app.canned import service as canned
from app.channels import accounts, runtime
from app.channels.account_store import AccountRow
from app.channels.email import EmailDriver
from app.contacts import service as contacts
from app.conversations import messages, notes, outbound, sender, snooze
from app.conversations import service as conversations
from app.csat import sender as csat_sender
from app.csat import service as csat
from app.desk import inbox
from app.domain.automation import AutomationRuleCreate, MacroCreate
from app.domain.enums import (
    AssignmentPolicy,
    Availability,
    ConversationStatus,
    ParticipantType,
    Permission,
    Priority,
    TalkType,
)
from app.domain.inbound import InboundMessage
from app.domain.principal import Principal
from app.domain.resources import (
    AgentUpdate,
    BusinessHoursCreate,
    BusinessHoursHoliday,
    BusinessHoursPeriod,
    CannedResponseCreate,
    ContactMergeIn,
    ContactUpdate,
    ConversationUpdate,
    CustomerUpdate,
    MessageCreate,
    MeUpdate,
    ParticipantIn,
    SlaPolicyCreate,
    TalkCreate,
    TalkMessageCreate,
    TeamCreate,
    TeamUpdate,
)
from app.domain.timefmt import as_of, fmt, now
from app.notifications import service as notifications
from app.people import agents, customers
from app.routing import availability, teams
from app.sla import service as sla_policies
from app.sla import worker as sla_worker
from app.talk import messages as talk_messages
from app.talk import service as talks

DEMO_CUSTOMER = "Demo Company"
DEMO_PASSWORD = "convodesk"
DEMO_LOGINS = (
    ("admin", "Ada Admin", Permission.ADMIN),
    ("agent", "Sam Agent", Permission.AGENT),
)


DEMO_EMAIL = "support@demo.convodesk.test"
"""A real email account: mail sent to it at the SMTP port lands in a room."""
DEMO_RELAY = ("127.0.0.1", "1025")
"""Where its replies go: a local mail catcher's usual port (`python -m aiosmtpd -n -l
127.0.0.1:1025` prints what arrives); the admin's channel page changes it."""


class DemoInfo(msgspec.Struct, kw_only=True):
    customer_id: str
    created: bool
    logins: list[tuple[str, str, str]]
    """(username, password, permission) for each demo login."""
    email: str = DEMO_EMAIL


async def seed_demo() -> DemoInfo:
    (admin_username, admin_name, _), (agent_username, agent_name, agent_perm) = DEMO_LOGINS
    logins = [(u, DEMO_PASSWORD, p.value) for u, _, p in DEMO_LOGINS]
    existing = await customers.find_by_admin_username(admin_username)
    if existing:
        await ensure_email_channel(existing)  # demo data made before it existed gets it too
        return DemoInfo(customer_id=existing, created=False, logins=logins)
    # The desk was set up the morning before the demo's past week began, so its calendar
    # and policies (and their audit entries) come before the rooms they govern.
    with as_of(week_start() - timedelta(hours=16)):
        customer, admin_id = await customers.create_customer(
            name=DEMO_CUSTOMER,
            username=admin_username,
            password=DEMO_PASSWORD,
            agent_name=admin_name,
        )
        admin = Principal(
            customer_id=customer.id,
            agent_id=admin_id,
            username=admin_username,
            permission=Permission.ADMIN,
            via="demo",
        )
        data = agents.validated_create(
            username=agent_username,
            password=DEMO_PASSWORD,
            name=agent_name,
            permission=agent_perm.value,
        )
        agent_out = await agents.create_agent(admin, data)  # by the admin: an audit entry
        agent = Principal(
            customer_id=customer.id,
            agent_id=agent_out.id,
            username=agent_username,
            permission=agent_perm,
            via="demo",
        )
        await ensure_email_channel(customer.id)
        channel = await seed_desk(admin, agent)
        await seed_service_levels(admin)
    await seed_week(admin, agent, channel)
    await seed_conversations(admin, agent, channel)
    await seed_talks(admin, agent.agent_id)
    await seed_automation(admin)
    return DemoInfo(customer_id=customer.id, created=True, logins=logins)


async def ensure_email_channel(customer_id: str) -> None:
    """The demo's real email account, so a new user can mail the desk and see the room
    appear. (The seeded email rooms use a loopback stand-in, whose replies always go out;
    this one's replies go to the relay in DEMO_RELAY.)"""
    if await accounts.account_by_address("email", DEMO_EMAIL) is not None:
        return
    host, port = DEMO_RELAY
    settings = EmailDriver().normalize(
        {
            "address": DEMO_EMAIL,
            "from_name": DEMO_CUSTOMER,
            "smtp_host": host,
            "smtp_port": port,
            "smtp_security": "none",
        }
    )
    await accounts.create_account(
        customer_id,
        type="email",
        address=DEMO_EMAIL,
        name=f"Email · {DEMO_EMAIL}",
        settings=settings,
    )


DEMO_CHANNELS = {
    # reference_type: (address, name)
    "message": ("+15550001111", "SMS · +1 555 000 1111"),
    "email": ("support@demo.convodesk.example", "Email · examples (loopback)"),
    "line": ("U0demo0bot0000000000000000000000", "LINE · Demo Shop"),
    "webchat": ("widget-demo", "Web chat · demo.example"),
}


SURVEY = {"csat": "on"}
"""Every demo channel asks for a rating when a room closes."""


async def seed_desk(admin: Principal, agent: Principal) -> dict[str, AccountRow]:
    """The demo's channel accounts (by reference type: loopback stand-ins for SMS, email
    and LINE, whose replies always go out, and the real web chat widget), who is at the
    desk, and the two teams that route the rooms.

    Support (round robin, 3 rooms each) gets SMS and web chat, Billing (least busy) gets
    email; LINE routes to no team and is assigned by hand. Both agents are online; Sam is
    newer and takes at most 2 rooms at a time (his own capacity)."""
    channel = {}
    for reference_type, (address, name) in DEMO_CHANNELS.items():
        if reference_type == "webchat":
            # the real widget: it needs no provider, so visitors can try it in the demo
            channel[reference_type] = await accounts.create_account(
                admin.customer_id,
                type="webchat",
                address="",
                name=name,
                settings={
                    "title": "Chat with Demo Company",
                    "greeting": "Hi! How can we help?",
                    **SURVEY,
                },
            )
            continue
        channel[reference_type] = await accounts.create_account(
            admin.customer_id,
            type="loopback",
            address=address,
            name=name,
            settings={"reference_type": reference_type, **SURVEY},
        )
    real_email = await accounts.account_by_address("email", DEMO_EMAIL)

    await availability.set_own(admin, Availability.ONLINE)
    await availability.set_own(agent, Availability.ONLINE)
    await availability.update_agent(admin, agent.agent_id, AgentUpdate(max_open=2))
    await teams.create_team(
        admin,
        TeamCreate(
            name="Support",
            detail="Orders, shipping and the website",
            agent_ids=[admin.agent_id, agent.agent_id],
            account_ids=[str(channel["message"].id), str(channel["webchat"].id)],
            assignment_policy=AssignmentPolicy.ROUND_ROBIN,
            max_open=3,
        ),
    )
    await teams.create_team(
        admin,
        TeamCreate(
            name="Billing",
            detail="Refunds, invoices and payments",
            agent_ids=[admin.agent_id, agent.agent_id],
            account_ids=[str(channel["email"].id)]
            + ([str(real_email.id)] if real_email is not None else []),
            assignment_policy=AssignmentPolicy.LEAST_BUSY,
            max_open=4,
        ),
    )
    return channel


async def seed_conversations(
    admin: Principal, agent: Principal, channel: dict[str, AccountRow]
) -> None:
    """Today's rooms across channels, through the same entry points real traffic uses;
    one person reaches the desk by SMS and by email and both land in one room.

    Sam fills his 2 rooms and the admin her 3, so the last Support rooms wait in its
    queue. Then Sam steps away: the admin stays online, and a room closed by the
    admin (or Sam coming back) hands the head of the queue out at once.

    The rooms arrived over the last forty minutes (`as_of`), so their SLA clocks have
    counted: the urgent web chat is amber and turns red a couple of minutes after the demo
    starts, Lee's urgent SMS is red, the others run on the office-hours policy. Each open
    room's last message is under 30 minutes old, so none starts idle
    (`CONVODESK_IDLE_AFTER`); they go idle as the demo runs, as real rooms do."""
    start = now()

    def ago(minutes: float) -> AbstractContextManager[None]:
        return as_of(start - timedelta(minutes=minutes))

    async def arrive(reference_type: str, peer: str, text: str, name: str = "") -> str:
        got = await messages.receive(
            channel[reference_type], InboundMessage(peer=peer, peer_name=name, text=text)
        )
        return got.conversation_id

    async def reply(room: str, text: str) -> None:
        await messages.send_message(admin, room, MessageCreate(text=text))

    async def update(room: str, **changes: object) -> None:
        await conversations.update_conversation(
            admin, room, msgspec.convert(changes, ConversationUpdate)
        )

    # One person, two channels, one room (Support: it began by SMS).
    with ago(40):
        order = await arrive("message", "+15559876543", "When will my order arrive?", "Dana Park")
        await update(order, name="Order Support #5678", tags=["shipping"])
    with ago(37):
        await reply(order, "Your order is scheduled for Friday delivery. Tracking is on its way.")
        await conversations.add_participant(
            admin,
            order,
            ParticipantIn(
                type=ParticipantType.EMAIL, target="dana.park@example.com", target_name="Dana Park"
            ),
        )
    with ago(21):
        await arrive(
            "email", "dana.park@example.com", "Can I change the delivery address?", "Dana Park"
        )
    with ago(19):
        await reply(order, "Yes, I've updated it. Sending confirmation by email.")

    # Urgent: 15 minutes around the clock, 12.5 counted, so past the warning at 80%.
    with ago(12.5):
        checkout = await arrive(
            "webchat", "visitor-7f3a", "Is anyone there? The checkout button does nothing."
        )
        await update(checkout, priority=Priority.URGENT.value, tags=["website"])

    with ago(34):
        done = await arrive("message", "+15557770000", "Thanks, all sorted!")
    with ago(33):
        await reply(done, "Glad to hear it. Have a great day!")
        await update(done, status=ConversationStatus.CLOSED.value)

    # No team: the admin hands it to Sam.
    with ago(28):
        line = await arrive(
            "line", "Ud871bcaf7c3ad13d2a0b0d78a42a287f", "Hi! Do you ship to Osaka?", "Mina K."
        )
        await update(line, owner_id=agent.agent_id)

    # Billing, least busy: Sam already holds two rooms, so the admin gets it.
    with ago(26):
        refund = await arrive(
            "email",
            "bob@example.com",
            "Refund status for order #991? It has been two weeks.",
            "Bob Builder",
        )
        await update(refund, tags=["billing"], priority=Priority.HIGH.value)

    # Support fills up: the admin's third room (urgent, unanswered for 24 minutes: its
    # first response is breached), then everyone is at capacity.
    with ago(24):
        damaged = await arrive(
            "message", "+15552223333", "My package arrived damaged. What now?", "Lee Chen"
        )
        await update(damaged, priority=Priority.URGENT.value, tags=["shipping"])
    with ago(9):
        wholesale = await arrive(
            "webchat", "visitor-20c1", "Do you offer wholesale prices for 50+ units?", "Priya Shah"
        )
        await update(wholesale, priority=Priority.HIGH.value)
    with ago(6):
        stock = await arrive(
            "message", "+15554445555", "Is the blue jacket back in stock?", "Ravi Patel"
        )

    await seed_toolbox(admin, agent, order=order, line=line, refund=refund, stock=stock)

    # Sam steps away from the desk; the admin keeps working.
    await availability.set_own(agent, Availability.AWAY)
    # The warnings and breaches that came due while the rooms waited, as the SLA worker
    # would have fired them: the inbox shows amber and red from the first page load.
    await sla_worker.fire_due()


async def seed_toolbox(
    admin: Principal, agent: Principal, *, order: str, line: str, refund: str, stock: str
) -> None:
    """The agent's daily tools, in use: shared and personal canned replies, signatures,
    a contact filled in, a reply scheduled for tomorrow morning, a room snoozed until the
    customer replies, and Sam's note @mentioning the admin (the admin's bell shows it)."""
    for shortcut, name, text in (
        (
            "thanks",
            "Thanks for writing",
            "Thanks for reaching out, {{contact.first_name}}! I'm {{agent.first_name}} and"
            " I'll look into this right away.",
        ),
        (
            "tracking",
            "Tracking link",
            "Hi {{contact.first_name}}, you can follow your parcel here:"
            " https://track.example.com/{{conversation.id}}",
        ),
        (
            "refund",
            "Refund timeline",
            "Refunds reach your account 5–7 business days after we approve them.",
        ),
    ):
        await canned.create(
            admin, CannedResponseCreate(shortcut=shortcut, name=name, text=text, owner_id=None)
        )
    await canned.create(
        agent,
        CannedResponseCreate(
            shortcut="brb", name="Checking", text="One moment please, I'm checking that for you."
        ),
    )
    await agents.update_me(admin, MeUpdate(signature="— Ada, Demo Company Support"))
    # Dana wrote by SMS, and the agent added her email address to the room: two contacts
    # of one person, merged (her addresses, rooms and notes follow)
    dana, *also = (await conversations.get_conversation(admin, order)).contact_ids
    for other in also:
        await contacts.merge(admin, dana, ContactMergeIn(contact_id=other))
    await contacts.update_contact(
        admin,
        dana,
        ContactUpdate(
            first_name="Dana",
            last_name="Park",
            company="Park & Daughters",
            job_title="Office manager",
            notes="Prefers email for anything with an invoice.",
        ),
    )
    tomorrow_nine = (now() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    await messages.send_message(
        admin,
        refund,
        MessageCreate(
            text="Following up: your refund for order #991 was approved this morning.",
            scheduled_at=fmt(tomorrow_nine),
        ),
    )
    await snooze.snooze(admin, stock, None, True)
    await notes.add_note(
        agent, line, "@admin do we ship to Osaka yet? Mina is asking about a bulk order."
    )


DEMO_ZONE = "Europe/Berlin"
OFFICE_HOURS = [
    BusinessHoursPeriod(day=day, start=start, end=end)
    for day in range(5)  # Monday to Friday, with a lunch break
    for start, end in (("09:00", "12:30"), ("13:30", "18:00"))
]


def week_start() -> datetime:
    """The demo's past week begins at midnight in Berlin, six days before today."""
    zone = ZoneInfo(DEMO_ZONE)
    first = now().astimezone(zone).date() - timedelta(days=6)
    return datetime.combine(first, time()).replace(tzinfo=zone).astimezone(UTC)


async def seed_service_levels(admin: Principal) -> None:
    """Business hours and SLA policies.

    "Office hours" (Berlin, Monday to Friday with a lunch break, closed on Christmas Day
    and New Year's Day) is the customer's calendar and both teams'. "Standard" holds every
    room to it (first response 4 hours, resolution 3 days); "Urgent" answers around the
    clock (15 minutes, then 30 between replies, resolved in 4 hours) — so urgent rooms
    are on the clock whenever the demo is started, at night and at weekends too."""
    year = now().year
    hours = await business_hours.create(
        admin,
        BusinessHoursCreate(
            name="Office hours",
            time_zone=DEMO_ZONE,
            periods=OFFICE_HOURS,
            holidays=[
                BusinessHoursHoliday(date=f"{year}-12-25", yearly=True, name="Christmas Day"),
                BusinessHoursHoliday(date=f"{year}-01-01", yearly=True, name="New Year's Day"),
            ],
        ),
    )
    await customers.update_customer(admin, CustomerUpdate(business_hours_id=hours.id))
    for team_id in (await team_ids(admin)).values():
        await teams.update_team(admin, team_id, TeamUpdate(business_hours_id=hours.id))
    await sla_policies.create(
        admin,
        SlaPolicyCreate(
            name="Urgent",
            priority=Priority.URGENT,
            first_response_minutes=15,
            next_response_minutes=30,
            resolution_minutes=4 * 60,
        ),
    )
    await sla_policies.create(
        admin,
        SlaPolicyCreate(
            name="Standard",
            business_hours_id=hours.id,
            first_response_minutes=4 * 60,
            resolution_minutes=3 * 24 * 60,
        ),
    )


async def seed_automation(admin: Principal) -> None:
    """Rules and macros, made after the seeded rooms (so those rooms stay as the demo's
    week left them): new messages about invoices go to Billing at high priority; a room
    that waits 30 business minutes for an agent is tagged `escalated` and its assignee
    and team told; two shared macros for the daily routine. One more rule is kept
    inactive, to try with Preview."""
    billing = (await team_ids(admin))["Billing"]
    rules = [
        {
            "name": "Invoices go to Billing",
            "trigger": "conversation_created",
            "active": True,
            "match": "any",
            "conditions": [
                {"field": "text", "operator": "matches", "value": r"invoice|refund|charged"},
                {"field": "channel", "operator": "equals", "value": "email"},
            ],
            "actions": [
                {"type": "move_team", "value": billing},
                {"type": "set_priority", "value": "high"},
            ],
        },
        {
            "name": "No agent reply in 30 minutes",
            "trigger": "no_agent_reply",
            "trigger_minutes": 30,
            "active": True,
            "actions": [
                {"type": "add_tags", "value": ["escalated"]},
                {"type": "notify", "value": ["assignee", "team"]},
            ],
        },
        {
            "name": "VIP customers are urgent",
            "trigger": "message_received",
            "conditions": [{"field": "contact_tag", "operator": "includes", "value": "vip"}],
            "actions": [{"type": "set_priority", "value": "urgent"}],
            "stop_processing": True,
        },
    ]
    for rule in rules:
        await automation.create_rule(admin, msgspec.convert(rule, AutomationRuleCreate))
    macros = [
        {
            "name": "Refund request",
            "owner_id": None,
            "actions": [
                {"type": "add_tags", "value": ["refund"]},
                {"type": "set_priority", "value": "high"},
                {"type": "add_note", "value": "Refund checklist: order number, amount, reason."},
            ],
        },
        {
            "name": "Resolve and close",
            "owner_id": None,
            "actions": [{"type": "remove_tags", "value": ["escalated"]}, {"type": "close"}],
        },
    ]
    for macro in macros:
        await automation.create_macro(admin, msgspec.convert(macro, MacroCreate))


async def team_ids(admin: Principal) -> dict[str, str]:
    """The customer's teams, name → id."""
    found, _ = await teams.list_teams(admin)
    return {t.name: t.id for t in found}


WEEK = (
    # days ago, local time, channel, customer, what they wrote, minutes to the first
    # reply, the rating they gave (None: the survey went unanswered)
    (6, "09:12", "message", "Olivia Brown", "Where is my parcel? Order #1042.", 9, 5),
    (6, "10:40", "webchat", "Noah Garcia", "Can I pay by invoice?", 4, 4),
    (6, "14:05", "email", "Emma Wilson", "Please send a copy of invoice #7781.", 95, None),
    (6, "16:30", "line", "Haruto S.", "Is the blue jacket available in size L?", 22, 5),
    (5, "08:55", "message", "Liam Johnson", "URGENT: charged twice for order #1077", 11, 4),
    (5, "11:20", "webchat", "Sophia Martin", "The discount code SPRING does not work.", 35, 3),
    (5, "13:10", "email", "Mia Fischer", "How do I change my billing address?", 300, 2),
    (5, "17:45", "message", "Lucas Meyer", "Do you deliver on Saturdays?", 14, 5),
    (4, "09:30", "webchat", "Amelia Clark", "URGENT: the site shows an error at payment", 27, 2),
    (4, "12:15", "line", "Yui T.", "Can I return an item bought in the sale?", 48, 4),
    (4, "15:00", "email", "Ben Schulz", "Your last invoice has the wrong VAT number.", 130, None),
    (4, "16:20", "message", "Ella Davis", "My tracking link says 'not found'.", 6, 5),
    (3, "10:05", "message", "Jack Taylor", "Can I add an item to order #1120?", 18, 5),
    (3, "11:50", "webchat", "Grace Lee", "Which size should I take? I'm usually an M.", 3, 5),
    (3, "14:30", "email", "Felix Wagner", "Refund for order #1098 still missing.", 260, 1),
    (2, "09:45", "webchat", "Chloe Evans", "URGENT: I ordered to my old address!", 8, 5),
    (2, "12:00", "message", "Henry White", "The zip on my jacket broke after a week.", 75, 3),
    (2, "15:40", "line", "Sota K.", "Do you have a store in Tokyo?", 12, 4),
    (2, "17:10", "email", "Lena Hoffmann", "Can I get a receipt with my company name?", 40, 5),
    (1, "09:20", "message", "Isla Walker", "Is express shipping available to Ireland?", 16, 4),
    (1, "11:35", "webchat", "Leo Becker", "How long does a refund take?", 5, 5),
    (1, "14:50", "message", "Ava Thompson", "URGENT: wrong item in my parcel, a gift!", 12, 5),
)
"""The past week: every room opened, answered, closed and (mostly) rated, by whoever
routing gave it to; "URGENT" rooms are set urgent at once."""

REPLIES = (
    "Thanks for getting in touch! I've looked into it and here's what I found.",
    "Sorry about that — I've sorted it out for you just now.",
    "Good question! Yes, we can do that; I've set it up on your account.",
    "I've checked with the warehouse and updated your order.",
)
FOLLOW_UPS = ("Great, thank you!", "Perfect, that works.", "Thanks, that was quick!")
COMMENTS = {
    1: "Took days to get an answer.",
    2: "Slow, and I had to explain twice.",
    3: "Fine in the end.",
    4: "Helpful, thanks.",
    5: "Quick and friendly!",
}


async def seed_week(admin: Principal, agent: Principal, channel: dict[str, AccountRow]) -> None:
    """The six days before today, written through the services at the times it happened
    (`as_of`), so the Reports page opens on a week of bars, response and resolution
    times, SLA figures per policy, a CSAT distribution and an agents table, each equal to
    its count from scratch. Each room closes before the next opens (nobody is ever at
    capacity, so today's routing starts as it would on an empty desk); the survey goes
    out at the close and the customer answers on the channel they used: a number by SMS
    or LINE, the card in the web chat widget, the link in the email."""
    zone = ZoneInfo(DEMO_ZONE)
    first = week_start().astimezone(zone).date()
    people = {admin.agent_id: admin, agent.agent_id: agent}
    line_owners = [agent, admin]
    for i, (days, clock, kind, name, text, wait, rating) in enumerate(WEEK):
        local = datetime.combine(first + timedelta(days=6 - days), time.fromisoformat(clock))
        at = local.replace(tzinfo=zone).astimezone(UTC)
        peer = {
            "message": f"+1555010{i:04d}",
            "webchat": f"visitor-week{i:02d}",
            "email": name.lower().replace(" ", ".") + "@example.com",
            "line": f"U0week{i:02d}" + "0" * 24,
        }[kind]
        with as_of(at):
            got = await messages.receive(
                channel[kind], InboundMessage(peer=peer, peer_name=name, text=text)
            )
            room = got.conversation_id
            changes: dict[str, object] = {}
            if text.startswith("URGENT"):
                changes["priority"] = Priority.URGENT.value
            if kind == "line":  # no team: assigned by hand, in turns
                changes["owner_id"] = line_owners[i % 2].agent_id
            if changes:
                await conversations.update_conversation(
                    admin, room, msgspec.convert(changes, ConversationUpdate)
                )
            owner_id = (await conversations.get_conversation(admin, room)).owner_id
        owner = people[owner_id or admin.agent_id]
        at += timedelta(minutes=wait)
        with as_of(at):
            await messages.send_message(owner, room, MessageCreate(text=REPLIES[i % 4]))
        if i % 3 == 0:  # the customer writes again, and is answered again
            at += timedelta(minutes=7 + i % 5)
            with as_of(at):
                await messages.receive(
                    channel[kind], InboundMessage(peer=peer, text=FOLLOW_UPS[i % 3])
                )
            at += timedelta(minutes=4 + i % 9)
            with as_of(at):
                await messages.send_message(owner, room, MessageCreate(text="You're welcome!"))
        at += timedelta(minutes=10 + 3 * (i % 7))
        with as_of(at):
            await conversations.update_conversation(
                owner, room, ConversationUpdate(status=ConversationStatus.CLOSED)
            )
            await csat_sender.send_due(at)
            # the replies and the survey go out as the sender would have sent them then,
            # not all at once when the demo server starts
            for claim in await outbound.claim_due(limit=20):
                await sender.send_one(claim)
        if rating is not None:
            at += timedelta(minutes=3 + 2 * (i % 11))
            await answer_survey(admin, channel[kind], room, peer, rating, at)
        # a past week is read: its rooms are not unread, nor their notifications
        with as_of(at + timedelta(minutes=1)):
            for person in people.values():
                await inbox.mark_read(person, room)
                await notifications.read_all(person, room)


async def answer_survey(
    admin: Principal, account: AccountRow, room: str, peer: str, rating: int, at: datetime
) -> None:
    """The customer rates the room at `at`, as each channel lets them."""
    with as_of(at):
        if account.type == "webchat":  # the widget's card
            survey = await csat.widget_survey(account, peer)
            assert survey is not None  # sent at the close
            await csat.answer_widget(account, peer, survey.id, rating, COMMENTS[rating])
        elif account.settings.get("reference_type") == "email":  # the mail's link, its form
            sent, _ = await messages.list_messages(admin, room, page_size=1)
            token = sent[0].text.rstrip().rsplit("/csat/", 1)[1]
            key = runtime.settings().require_secret_key()
            await csat.answer_link(key, token, rating, COMMENTS[rating])
        else:  # a number by SMS or LINE
            answer = InboundMessage(peer=peer, text=f"{rating} - {COMMENTS[rating]}")
            await messages.receive(account, answer)


async def seed_talks(admin: Principal, agent_id: str) -> None:
    """A group talk with a thread and a reaction, and a direct talk."""
    agent = Principal(
        customer_id=admin.customer_id,
        agent_id=agent_id,
        username=DEMO_LOGINS[1][0],
        permission=Permission.AGENT,
        via="demo",
    )
    team, _ = await talks.create_talk(
        admin, TalkCreate(name="Support team", participant_ids=[agent_id])
    )
    say = talk_messages.post_message
    issue = await say(
        admin, team.id, TalkMessageCreate(text="Customer reporting payment failure on #991.")
    )
    await say(agent, team.id, TalkMessageCreate(text="Let me check the logs", parent_id=issue.id))
    await say(
        agent, team.id, TalkMessageCreate(text="Found it - gateway timeout", parent_id=issue.id)
    )
    done = await say(admin, team.id, TalkMessageCreate(text="Customer confirmed it works now"))
    await talk_messages.add_reaction(agent, done.id, "thumbsup")
    direct, _ = await talks.create_talk(
        agent, TalkCreate(type=TalkType.DIRECT, participant_ids=[admin.agent_id])
    )
    await say(agent, direct.id, TalkMessageCreate(text="Can you cover the LINE queue at 3pm?"))

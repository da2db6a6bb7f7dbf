"""Demo data: a customer with an admin and an agent, made once and reused after.

Everything goes through the services real requests use, so what a new user sees is what
the product does: the agent is created by the admin (an audit entry), the teams by the
admin's team service, availability by the agents' own switches, and the rooms arrive on
channel accounts that route to teams — so each room's assignment reason, system line,
`conversation_assigned` event and audit entry were written by routing itself.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec

from app.canned import service as canned
from app.channels import accounts
from app.channels.email import EmailDriver
from app.contacts import service as contacts
from app.conversations import messages, notes, snooze
from app.conversations import service as conversations
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
    CannedResponseCreate,
    ContactMergeIn,
    ContactUpdate,
    ConversationUpdate,
    MessageCreate,
    MeUpdate,
    ParticipantIn,
    TalkCreate,
    TalkMessageCreate,
    TeamCreate,
)
from app.domain.timefmt import fmt, now
from app.people import agents, customers
from app.routing import availability, teams
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
    await seed_conversations(admin, agent)
    await seed_talks(admin, agent.agent_id)
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


async def seed_conversations(admin: Principal, agent: Principal) -> None:
    """Rooms across channels, through the same entry points real traffic uses; one person
    reaches the desk by SMS and by email and both land in one room.

    Two teams route them: Support (round robin, 3 rooms each) gets SMS and web chat,
    Billing (least busy) gets email; LINE routes to no team and is assigned by hand. Both
    agents are online while the rooms arrive; Sam takes at most 2 rooms (his own
    capacity), so once everyone is full the last rooms wait in Support's queue. Then Sam
    steps away: the admin stays online, and a room closed by the admin (or Sam coming
    back) hands the head of the queue out at once."""
    channel = {}
    for reference_type, (address, name) in DEMO_CHANNELS.items():
        if reference_type == "webchat":
            # the real widget: it needs no provider, so visitors can try it in the demo
            channel[reference_type] = await accounts.create_account(
                admin.customer_id,
                type="webchat",
                address="",
                name=name,
                settings={"title": "Chat with Demo Company", "greeting": "Hi! How can we help?"},
            )
            continue
        channel[reference_type] = await accounts.create_account(
            admin.customer_id,
            type="loopback",
            address=address,
            name=name,
            settings={"reference_type": reference_type},
        )
    real_email = await accounts.account_by_address("email", DEMO_EMAIL)

    # Who is there: both at their desks; Sam is newer and takes 2 rooms at a time.
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
    order = await arrive("message", "+15559876543", "When will my order arrive?", "Dana Park")
    await update(order, name="Order Support #5678", tags=["shipping"])
    await reply(order, "Your order is scheduled for Friday delivery. Tracking is on its way.")
    await conversations.add_participant(
        admin,
        order,
        ParticipantIn(
            type=ParticipantType.EMAIL, target="dana.park@example.com", target_name="Dana Park"
        ),
    )
    await arrive(
        "email", "dana.park@example.com", "Can I change the delivery address?", "Dana Park"
    )
    await reply(order, "Yes, I've updated it. Sending confirmation by email.")

    checkout = await arrive(
        "webchat", "visitor-7f3a", "Is anyone there? The checkout button does nothing."
    )
    await update(checkout, priority=Priority.URGENT.value, tags=["website"])

    done = await arrive("message", "+15557770000", "Thanks, all sorted!")
    await reply(done, "Glad to hear it. Have a great day!")
    await update(done, status=ConversationStatus.CLOSED.value)

    # No team: the admin hands it to Sam.
    line = await arrive(
        "line", "Ud871bcaf7c3ad13d2a0b0d78a42a287f", "Hi! Do you ship to Osaka?", "Mina K."
    )
    await update(line, owner_id=agent.agent_id)

    # Billing, least busy: Sam already holds two rooms, so the admin gets it.
    refund = await arrive(
        "email",
        "bob@example.com",
        "Refund status for order #991? It has been two weeks.",
        "Bob Builder",
    )
    await update(refund, tags=["billing"], priority=Priority.HIGH.value)

    # Support fills up: the admin's third room, then everyone is at capacity.
    damaged = await arrive(
        "message", "+15552223333", "My package arrived damaged. What now?", "Lee Chen"
    )
    await update(damaged, priority=Priority.HIGH.value, tags=["shipping"])
    wholesale = await arrive(
        "webchat", "visitor-20c1", "Do you offer wholesale prices for 50+ units?", "Priya Shah"
    )
    await update(wholesale, priority=Priority.HIGH.value)
    stock = await arrive(
        "message", "+15554445555", "Is the blue jacket back in stock?", "Ravi Patel"
    )

    await seed_toolbox(admin, agent, order=order, line=line, refund=refund, stock=stock)

    # Sam steps away from the desk; the admin keeps working.
    await availability.set_own(agent, Availability.AWAY)


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

"""Demo data: a customer with an admin and an agent, made once and reused after."""

from __future__ import annotations

import msgspec

from app.channels import accounts
from app.channels.email import EmailDriver
from app.conversations import messages
from app.conversations import service as conversations
from app.core.events import transaction
from app.domain.enums import ConversationStatus, ParticipantType, Permission, TalkType
from app.domain.inbound import InboundMessage
from app.domain.principal import Principal
from app.domain.resources import (
    ConversationUpdate,
    MessageCreate,
    ParticipantIn,
    TalkCreate,
    TalkMessageCreate,
)
from app.people import agents, customers
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
    data = agents.validated_create(
        username=agent_username,
        password=DEMO_PASSWORD,
        name=agent_name,
        permission=agent_perm.value,
    )
    async with transaction():
        agent = await agents.insert_agent(customer.id, data)
    admin = Principal(
        customer_id=customer.id,
        agent_id=admin_id,
        username=admin_username,
        permission=Permission.ADMIN,
        via="demo",
    )
    await seed_conversations(admin, agent.id)
    await seed_talks(admin, agent.id)
    await ensure_email_channel(customer.id)
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


async def seed_conversations(admin: Principal, agent_id: str) -> None:
    """Rooms across channels, through the same entry points real traffic uses; one person
    reaches the desk by SMS and by email and both land in one room."""
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

    async def arrive(reference_type: str, peer: str, text: str, name: str = "") -> str:
        got = await messages.receive(
            channel[reference_type], InboundMessage(peer=peer, peer_name=name, text=text)
        )
        return got.conversation_id

    async def reply(room: str, text: str) -> None:
        await messages.send_message(admin, room, MessageCreate(text=text))

    # One person, two channels, one room.
    order = await arrive("message", "+15559876543", "When will my order arrive?", "Dana Park")
    await conversations.update_conversation(
        admin, order, ConversationUpdate(name="Order Support #5678", tags=["shipping"])
    )
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

    line = await arrive(
        "line", "Ud871bcaf7c3ad13d2a0b0d78a42a287f", "Hi! Do you ship to Osaka?", "Mina K."
    )
    await conversations.update_conversation(admin, line, ConversationUpdate(owner_id=agent_id))

    refund = await arrive(
        "email",
        "bob@example.com",
        "Refund status for order #991? It has been two weeks.",
        "Bob Builder",
    )
    await conversations.update_conversation(admin, refund, ConversationUpdate(tags=["billing"]))

    await arrive("webchat", "visitor-7f3a", "Is anyone there? The checkout button does nothing.")

    done = await arrive("message", "+15557770000", "Thanks, all sorted!")
    await reply(done, "Glad to hear it. Have a great day!")
    await conversations.update_conversation(
        admin, done, ConversationUpdate(status=ConversationStatus.CLOSED)
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

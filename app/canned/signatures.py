"""Signatures: the agent's own text, appended below its replies on the channel accounts
whose `signature` setting is `below` (email by default; SMS, LINE, WhatsApp and web chat
default to `off`).

Appended once, when the reply is sent (`messages.send_message` calls `signed`), and
stored as part of the message's text: the timeline, the API and the provider all see the
text that went out. Only replies a person writes get it: the desk, and API calls with a
sign-in token. A program using an access key writes the whole text it means to send, so
it gets none, even though the key acts as the admin who made it (docs/API.md,
"Signatures")."""

from __future__ import annotations

from collections.abc import Iterable

from app.channels import accounts
from app.channels.account_store import AccountRow
from app.domain.enums import ReferenceType
from app.domain.principal import Principal
from app.people import agent_store

BELOW = "below"
OFF = "off"
DEFAULT_PLACEMENT = {ReferenceType.EMAIL: BELOW}
"""A channel's placement when its account does not say (any other channel: off)."""


def placement(account: AccountRow) -> str:
    """`below` or `off`: the account's `signature` setting, else its channel's default
    (accounts made before the setting existed, and loopback accounts left at "—")."""
    value = account.settings.get("signature")
    if value in (BELOW, OFF):
        return str(value)
    return DEFAULT_PLACEMENT.get(accounts.reference_of(account), OFF)


def gets_signature(principal: Principal) -> bool:
    """Whether a reply by `principal` is signed: a person's, not an access key's."""
    return principal.via != "accesskey"


def append(text: str, signature: str) -> str:
    """`text` with `signature` below it, a blank line between; a reply with no text (media
    only) stays as it is: a signature alone is not a caption."""
    if not signature or not text.strip():
        return text
    return f"{text.rstrip()}\n\n{signature}"


async def agent_signature(principal: Principal) -> str:
    row = await agent_store.live(principal.customer_id, principal.agent_id)
    return row.signature if row is not None else ""


async def signed(principal: Principal, account: AccountRow, text: str) -> str:
    """The text of `principal`'s reply as it is sent and stored from `account`."""
    if not gets_signature(principal) or placement(account) != BELOW:
        return text
    return append(text, await agent_signature(principal))


async def previews(principal: Principal, account_ids: Iterable[str]) -> dict[str, str]:
    """For the composer: the signature a reply sent from each account would get ("" for
    none), so the preview switches with the chosen channel."""
    signature = await agent_signature(principal) if gets_signature(principal) else ""
    wanted = set(account_ids)
    return {
        str(a.id): signature if placement(a) == BELOW else ""
        for a in await accounts.live_accounts(principal.customer_id)
        if str(a.id) in wanted
    }

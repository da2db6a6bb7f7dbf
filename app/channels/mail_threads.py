"""Which email account a recipient address reaches: the account's own address, or a room's
`reply+<token>@<domain>` reply address (the token names the room and is signed with the
server's secret key; the domain must be one of that customer's email accounts).

The SMTP listener asks this at RCPT time, so a mail for nobody is refused before its body
is sent; what the mail holds is then stored through `conversations.messages.receive`.
"""

from __future__ import annotations

import msgspec

from app.channels import account_store as accounts_store
from app.channels import accounts, mime, runtime
from app.channels.account_store import AccountRow


class Recipient(msgspec.Struct, kw_only=True):
    account: AccountRow
    room_id: str | None = None
    """The room a reply address names (the inbound message's conversation hint)."""


async def recipient(address: str) -> Recipient | None:
    """The live email account `address` reaches, or None (the listener answers 550)."""
    address = address.strip()
    if "@" not in address or len(address) > 320:
        return None
    account = await accounts.account_by_address("email", address)
    if account is not None:
        return Recipient(account=account)
    room_id = mime.room_of_address(runtime.settings().require_secret_key(), address)
    if room_id is None:
        return None
    # The customer's email account on the reply address's domain; the room's own account
    # first when it is one of them (a customer may have support@ and sales@ there).
    account = await accounts_store.email_account_for_reply(room_id, mime.domain_of(address))
    if account is None:
        return None
    return Recipient(account=account, room_id=room_id)

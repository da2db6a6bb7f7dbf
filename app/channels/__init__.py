"""Channel drivers: one module per provider, registered by account type.

Importing this package registers every driver, so `get_driver(account.type)` finds
the one for any stored account."""

from app.channels import (  # noqa: F401  (drivers register themselves)
    email,
    line,
    loopback,
    runtime,
    sms,
    webchat,
    whatsapp,
)
from app.channels.base import (
    Driver,
    Field,
    HookOutcome,
    HookRequest,
    OutboundRequest,
    PermanentSendError,
    Rejected,
    SendResult,
    StatusUpdate,
    TransientSendError,
    get_driver,
    register,
    registered_types,
)

__all__ = [
    "Driver",
    "Field",
    "HookOutcome",
    "HookRequest",
    "StatusUpdate",
    "runtime",
    "OutboundRequest",
    "PermanentSendError",
    "Rejected",
    "SendResult",
    "TransientSendError",
    "get_driver",
    "register",
    "registered_types",
]

"""Channel drivers: one module per provider, registered by account type.

Importing this package registers every driver, so `get_driver(account["type"])` finds
the one for any stored account."""

from app.channels import loopback  # noqa: F401,E402  (registers itself)
from app.channels.base import (
    Driver,
    OutboundRequest,
    PermanentSendError,
    SendResult,
    TransientSendError,
    get_driver,
    register,
    registered_types,
)

__all__ = [
    "Driver",
    "OutboundRequest",
    "PermanentSendError",
    "SendResult",
    "TransientSendError",
    "get_driver",
    "register",
    "registered_types",
]

"""Running the web server: uvicorn with our HTTP protocol, and the SMTP port bound once.

`uvicorn.run` is not used because the SMTP socket `serve` binds must reach every worker
process; a `uvicorn.Config` subclass carries it (worker processes receive the config,
sockets included, when they start) and hands it to the SMTP listener when it loads the
app. Otherwise this is what `uvicorn.run` does.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from app.channels import smtp_listener
from app.http_guard import raise_file_limit
from app.settings import Settings

HTTP_PROTOCOL = "app.http_guard:GuardedHttpToolsProtocol"


class ServeConfig(uvicorn.Config):
    def __init__(self, *args: Any, smtp_socket: socket.socket | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.smtp_socket = smtp_socket

    def load(self) -> None:
        smtp_listener.adopt(self.smtp_socket)
        super().load()


def claim_smtp(settings: Settings, host: str) -> socket.socket | None:
    """The SMTP listening socket, on CONVODESK_SMTP_HOST or else the HTTP host (None when
    CONVODESK_SMTP_PORT is 0). Raises `smtp_listener.PortInUse` with a one-line reason."""
    if not settings.smtp_port:
        return None
    return smtp_listener.claim(settings.smtp_host or host, settings.smtp_port)


def run(
    settings: Settings, host: str, port: int, workers: int, smtp_socket: socket.socket | None
) -> None:
    """Serve until stopped."""
    raise_file_limit()  # inherited by the worker processes
    config = ServeConfig(
        "app.asgi:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=HTTP_PROTOCOL,
        timeout_keep_alive=settings.keepalive_timeout_seconds,  # type: ignore[arg-type]
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
        smtp_socket=smtp_socket,
    )
    server = uvicorn.Server(config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)

"""One log format for the web server, the workers and the CLI."""

from __future__ import annotations

import logging
import re

# uvicorn logs each websocket's path with its query string, and browsers and widgets
# authenticate websockets with ?token= (a header cannot be set there): keep those out.
_CREDENTIAL = re.compile(r"((?:token|accesskey)=)[^&\s\"']+", re.IGNORECASE)


class RedactCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                _CREDENTIAL.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        if isinstance(record.msg, str) and "=" in record.msg:
            record.msg = _CREDENTIAL.sub(r"\1[redacted]", record.msg)
        return True


def configure_logging(level: str = "info") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactCredentials())
    # uvicorn's loggers keep their own handlers; a filter on the logger covers them
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())

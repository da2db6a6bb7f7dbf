"""One log format for the web server, the workers and the CLI: readable lines (`text`), or
one JSON object per line (`json`, CONVODESK_LOG_FORMAT) for log collectors, which then need
no pattern to split a line into its fields."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the HTTP request being handled (set for the length of the request), so that
every record logged while handling it carries the id its response's `X-Request-Id` shows."""

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


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time (UTC, ISO 8601), level, logger, message, and
    `request_id` inside a request, `exc` (the traceback) when there is one. JSON escapes
    line breaks, so a multi-line message or traceback stays one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # `extra={"request_id": ...}` wins: the response's own line is logged where the
        # request's context may already be gone (a 404 for an unknown path)
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", log_format: str = "text") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactCredentials())
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
    # uvicorn's loggers keep their own handlers; a filter on the logger covers them
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())
    if log_format == "json":
        # uvicorn's own lines ("Started server process", its errors) go through the root
        # handler too, so no line of the process is in another format
        for name in ("uvicorn", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True

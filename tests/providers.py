"""A local HTTP server standing in for a provider's API (Twilio, LINE, Meta Graph): it
records every request and answers as the provider documents. Each test module adds the
routes of its provider; nothing of Convodesk's own code is replaced. Below it, the
providers' webhook signatures, computed as each provider documents them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec


class Recorded(msgspec.Struct, kw_only=True):
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode(), keep_blank_values=True)


class Reply(msgspec.Struct, kw_only=True):
    status: int = 200
    body: Any = b""
    """bytes, str, or anything JSON-able (sent as application/json)."""
    headers: dict[str, str] = {}
    delay: float = 0.0


Handler = Callable[[Recorded, re.Match], Reply]


class ProviderServer:
    """Routes are (method, path regex) → handler; the first match answers; unknown paths
    get 404 like a real API. `requests` holds everything received, in order."""

    def __init__(self, port: int = 0) -> None:
        self.routes: list[tuple[str, re.Pattern, Handler]] = []
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                """No request log: the test output stays readable."""

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:
                    # The sender died mid-request (a test kills processes on purpose): a real
                    # server never sees a truncated request as one, so neither do the tests.
                    self.close_connection = True
                    return
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with outer.lock:
                    outer.requests.append(recorded)
                reply = outer._answer(recorded)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body
                headers = dict(reply.headers)
                if not isinstance(payload, bytes | str):
                    payload = json.dumps(payload)
                    headers.setdefault("Content-Type", "application/json")
                if isinstance(payload, str):
                    payload = payload.encode()
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer `method` requests whose path fully matches `pattern`; later routes for the
        same path win, so a test can override a module's default answer."""
        self.routes.insert(0, (method, re.compile(pattern), handler))

    def _answer(self, recorded: Recorded) -> Reply:
        for method, pattern, handler in list(self.routes):
            match = pattern.fullmatch(recorded.path)
            if method == recorded.method and match:
                return handler(recorded, match)
        return Reply(status=404, body={"message": "Not found"})

    def received(self, method: str, pattern: str) -> list[Recorded]:
        regex = re.compile(pattern)
        with self.lock:
            return [r for r in self.requests if r.method == method and regex.fullmatch(r.path)]

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- signing as the providers do, from their documentation (not from our drivers) ------


def twilio_signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + each name and value, the
    parameters sorted by name))."""
    data = url + "".join(name + value for name, value in sorted(params, key=lambda p: p[0]))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def line_signature(secret: str, body: bytes) -> str:
    """x-line-signature: base64(HMAC-SHA256(channel secret, body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def meta_signature(secret: str, body: bytes) -> str:
    """X-Hub-Signature-256: "sha256=" + hex(HMAC-SHA256(app secret, body))."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

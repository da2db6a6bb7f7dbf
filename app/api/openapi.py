"""The OpenAPI document (`/schema/openapi.json`, browsable at `/schema/`), completed in one
place.

Litestar builds each operation from its handler: path, parameters, body, success response,
and the handler's docstring as its description. What it cannot see is added here, once the
document is built, from facts about each operation rather than by hand per handler:

- Every error leaves in one envelope (`app.api.errors.envelope`), so each error status refers
  to one shared response whose body is the `Error` schema. Litestar's own "400 Validation
  Exception" shape, which this API never sends, is dropped.
- Which errors an operation can answer follows from its shape: a credential → 401; a write
  (POST, PUT, PATCH: `require_json_body` reads its body) → 400 broken JSON, 413, 415, and 403
  (a write authenticated only by the session cookie needs the CSRF token); a JSON body → 422;
  query parameters → 400; ids in the path → 404; any parameter → 422 (a character that
  cannot be stored); an `Idempotency-Key` → 400, 409, 422.
  What only the service knows (admins only, conflicts, sign-in throttling) the handler or its
  controller declares with `opt=answers(Forbidden, ...)`.
- How a caller authenticates: the five places a credential may come from (`app.api.auth`);
  none for sign-in and `/healthz`.
- Short summaries from the handlers' names.
- The events (OpenAPI's `webhooks`): the body a webhook endpoint receives for each type,
  which is also the API websocket's frame, with the resource it carries
  (`resources.EVENT_DATA`).

Doing this after generation keeps the handlers thin and makes the rules impossible to
forget for a new operation; tests/test_openapi.py checks the result, and the schema fuzz
(tests/test_openapi_fuzz.py) checks that the server's answers match it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Router
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.datastructures import ResponseHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin
from litestar.openapi.spec import (
    Example,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

from app.api.errors import STATUS_NAMES
from app.domain.enums import PUBLIC_EVENTS, WEBHOOK_EVENTS, EventType
from app.domain.errors import ServiceError
from app.domain.resources import EVENT_DATA

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.handlers import HTTPRouteHandler

DESCRIPTION = """\
Convodesk's JSON API: agents, access keys, the customer's settings, conversations (rooms)
with their participants and messages, channel accounts, webhook deliveries, and the
agents' own talks.

**Signing in.** `POST /auth/login` gives a token (a JWT). Send it as
`Authorization: Bearer <token>`, as `?token=<token>`, or in the `token` cookie (the desk's
session). Programs can use an access key instead (`POST /v1.0/accesskeys`), as
`Authorization: AccessKey <key>` or `?accesskey=<key>`. A write authenticated only by the
cookie must also carry the desk's CSRF token, so another website cannot make one.

**Errors.** Every error has the same body, the `Error` schema:
`{"error": {"status": "NOT_FOUND", "reason": "agent_not_found", "message": "…",
"request_id": "…"}}`. `reason` is a stable code for programs; `message` is for people;
`request_id` is also in the `X-Request-Id` header of every response and in the server's log.
A body that breaks the schema is a `422` whose `fields` names each field.

**Lists** are newest first: `page_size` (1–100, default 100) items, and `next_page_token`
to pass as `page_token` for the next page (`""` on the last one).

**Times** are UTC, written `2022-06-17 06:06:14.446158`; a live record's `tm_delete` is
`9999-01-01 00:00:00.000000`.

**Creating twice.** Operations that create accept an `Idempotency-Key` header (1–255
characters): a repeat within 24 hours answers the first response again, with
`Idempotent-Replayed: true`, and creates nothing.

**Live events** come over the websocket `GET /v1.0/ws` (same credentials), which this
document cannot describe; its protocol is in the project's docs/WEBSOCKETS.md. Each event
type's body — a webhook's, and the websocket's frame — is under *Webhooks* here.
"""

WRITES = frozenset({"post", "put", "patch"})
METHODS = ("get", "put", "post", "delete", "patch")

# One shared response per error status: (component name, description).
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: (
        "BadRequest",
        "The request is malformed: a body that is not JSON (`malformed_json`), no body where "
        "one is needed (`missing_body`), a bad query parameter (`invalid_parameter`, named in "
        "`fields`), an unusable `page_token` or `Idempotency-Key`.",
    ),
    401: (
        "Unauthorized",
        "No valid credential: none was sent, or it is malformed, expired or revoked, or its "
        "agent was deleted. For sign-in: a wrong username or password.",
    ),
    403: (
        "Forbidden",
        "The caller may not do this: the operation needs another permission (admins only, "
        "for example), or a write authenticated only by the session cookie came without "
        "the CSRF token.",
    ),
    404: (
        "NotFound",
        "There is no such resource in the caller's customer, or the caller may not see it.",
    ),
    409: (
        "Conflict",
        "The resource's state does not allow this now (a closed talk, a username in use, "
        "the last admin), or a request with the same `Idempotency-Key` is still running.",
    ),
    413: ("PayloadTooLarge", "The request body is larger than the server accepts."),
    415: ("UnsupportedMediaType", "The request body is not sent as `application/json`."),
    422: (
        "UnprocessableEntity",
        "The JSON body breaks the schema (`invalid_body`, naming each field in `fields`) or a "
        "rule (the reason says which), a parameter holds a character that cannot be stored "
        "(`invalid_character`), or the `Idempotency-Key` was used for another request.",
    ),
    429: (
        "TooManyRequests",
        "Too many attempts: wait for the seconds in `Retry-After`.",
    ),
    503: (
        "ServiceUnavailable",
        "A service this needs (the database, or the provider being set up) did not answer; "
        "or a write met a concurrent change and was undone (`conflict_retry`: nothing was "
        "saved, retry after `Retry-After`).",
    ),
}

EXAMPLE_REASONS = {
    400: ("malformed_json", "The request body is not valid JSON."),
    401: ("unauthenticated", "Sign in first: send a token or an access key with the request."),
    403: ("admin_required", "Only an admin of this customer may do this."),
    404: ("conversation_not_found", "There is no such conversation."),
    409: ("talk_closed", "This talk is closed; reopen it first."),
    413: ("body_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the body as application/json (got text/plain)."),
    422: ("invalid_body", "name: Expected `str` of length <= 255"),
    429: ("too_many_login_attempts", "Too many failed sign-ins for this username; try again."),
    503: ("unavailable", "The database did not answer."),
}


def answers(*errors: type[ServiceError], idempotent: bool = False) -> dict[str, Any]:
    """A handler's or controller's `opt` for the document: the service errors it may raise
    beyond what its shape implies, and whether it honours `Idempotency-Key`."""
    return {"answers": tuple(e.status_code for e in errors), "idempotent": idempotent}


# The reference page may load only from this server: the vendored Redoc script (whose inline
# start and styles need 'unsafe-inline'), and nothing else. Redoc's sidebar would otherwise
# fetch its maker's logo from a CDN.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:;"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Convodesk API",
        version="1.0",
        description=DESCRIPTION,
        path="/schema",
        use_handler_docstrings=True,
        openapi_router=Router(
            "/schema",
            route_handlers=[],
            include_in_schema=False,
            response_headers=[ResponseHeader(name="Content-Security-Policy", value=PAGE_POLICY)],
        ),
        render_plugins=[
            JsonRenderPlugin(),
            # Everything the page loads is ours: no web fonts or favicon from a CDN.
            RedocRenderPlugin(
                js_url="/static/vendor/redoc/redoc.standalone.js",
                google_fonts=False,
                favicon="<link rel='icon' href='/static/favicon.svg' type='image/svg+xml'>",
                path="/",
            ),
        ],
    )


# --- completing the generated document -------------------------------------------------


class _CompletingOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, completing the document as it builds it."""

    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        doc = super()._build_openapi()
        complete(self.app, doc)
        return doc


def complete_when_built(app: Litestar) -> None:
    """Complete the app's document as Litestar builds it, when it is first asked for
    (`/schema`; the JSON and the page are rendered from this one object), not at start:
    building it is about a third of the CPU an app takes to start (0.4 s of 1.3 s), which
    every process and every test's app would otherwise pay without serving it. Litestar
    makes its own plugin and has no hook for this, so the plugin's class is swapped for
    one that completes (same slots, so the object stays valid)."""
    app.plugins.get(OpenAPIPlugin).__class__ = _CompletingOpenAPIPlugin


def complete(app: Litestar, doc: OpenAPI) -> None:
    """Complete the app's generated document in place."""
    components = doc.components
    components.schemas.update(_error_schemas())
    components.responses = {
        name: _error_response(status, description)
        for status, (name, description) in ERROR_RESPONSES.items()
    }
    components.headers = _headers()
    components.security_schemes = _security_schemes()
    doc.security = [{name: []} for name in components.security_schemes]

    handlers = _handlers(app)
    bodies: list[Any] = []
    for path, item in (doc.paths or {}).items():
        for method in METHODS:
            operation = getattr(item, method, None)
            if operation is not None:
                _complete_operation(operation, method, handlers[(path, method.upper())])
                if isinstance(operation.request_body, RequestBody):
                    bodies += [m.schema for m in (operation.request_body.content or {}).values()]
    _close_bodies(components.schemas, bodies)
    doc.webhooks = _event_webhooks(components.schemas)


def _event_webhooks(schemas: dict[str, Any]) -> dict[str, PathItem | Reference]:
    """One entry per event type a webhook endpoint may receive: the body, whose `data` is
    the resource as the API returns it. A resource only events carry is added to the
    components from its Struct."""
    carried = [EVENT_DATA[t] for t in EventType if t in WEBHOOK_EVENTS]
    _, made = msgspec.json.schema_components(
        sorted(set(carried), key=lambda s: s.__name__),
        ref_template="#/components/schemas/{name}",
    )
    for name, schema in made.items():
        schemas.setdefault(name, schema)
    string = OpenAPIType.STRING
    hooks: dict[str, PathItem | Reference] = {}
    for event_type in (t for t in EventType if t in WEBHOOK_EVENTS):
        data = EVENT_DATA[event_type].__name__
        body = Schema(
            type=OpenAPIType.OBJECT,
            required=["id", "type", "tm_create", "data"],
            properties={
                "id": Schema(
                    type=string,
                    pattern=r"^[0-9]+$",
                    description="The event id, increasing; also the `webhook-id` header.",
                ),
                "type": Schema(type=string, const=event_type.value),
                "tm_create": Schema(type=string, description="When the event happened."),
                "data": Reference(ref=f"#/components/schemas/{data}"),
            },
            additional_properties=False,
        )
        hooks[event_type.value] = PathItem(
            post=Operation(
                summary=event_type.value,
                description=(
                    f"A `{event_type.value}` event, carrying a `{data}` as the API returns it,"
                    " sent to the customer's webhook endpoint (signed, with the method set)"
                    + (
                        " and as a frame of the API websocket."
                        if event_type in PUBLIC_EVENTS
                        else "; never on a websocket."
                    )
                    + " When each type is sent: the project's docs/EVENTS.md."
                ),
                tags=["events"],
                request_body=RequestBody(
                    required=True, content={"application/json": OpenAPIMediaType(schema=body)}
                ),
                responses={
                    "2XX": OpenAPIResponse(
                        description="Received. Any other answer is retried on the delivery"
                        " schedule; `410 Gone` disables the endpoint."
                    )
                },
            )
        )
    return hooks


def _close_bodies(schemas: dict[str, Schema], roots: list[Any]) -> None:
    """Request bodies refuse fields they do not know (a typo is an error, not ignored:
    `forbid_unknown_fields` on their Structs); say so with `additionalProperties: false` on
    every object schema a body reaches whose Struct refuses them."""
    structs = _structs_by_name()
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        node = todo.pop()
        if isinstance(node, Reference):
            name = node.ref.rsplit("/", 1)[-1]
            if name in seen or name not in schemas:
                continue
            seen.add(name)
            struct = structs.get(name)
            if struct is not None and struct.__struct_config__.forbid_unknown_fields:
                schemas[name].additional_properties = False
            node = schemas[name]
        if isinstance(node, Schema):
            todo += [*(node.properties or {}).values(), *(node.one_of or []), *(node.any_of or [])]
            todo += [*(node.all_of or []), *([node.items] if node.items else [])]


def _structs_by_name() -> dict[str, type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    todo = list(msgspec.Struct.__subclasses__())
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo += cls.__subclasses__()
    return found


def _handlers(app: Litestar) -> dict[tuple[str, str], HTTPRouteHandler]:
    found = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for method, (handler, _) in route.route_handler_map.items():
                found[(route.path_format or "/", str(method))] = handler
    return found


def _declared(handler: HTTPRouteHandler) -> tuple[set[int], bool]:
    """What `answers(...)` says on the handler and the layers above it (a controller says
    "admins only" once for all its operations)."""
    statuses: set[int] = set()
    idempotent = False
    for layer in handler.ownership_layers:
        opt = getattr(layer, "opt", None) or {}
        statuses.update(opt.get("answers", ()))
        idempotent = idempotent or bool(opt.get("idempotent"))
    return statuses, idempotent


def _complete_operation(operation: Operation, method: str, handler: HTTPRouteHandler) -> None:
    if handler.summary is None:  # Litestar's default is the name in PascalCase
        operation.summary = handler.handler_name.replace("_", " ").capitalize()
    authenticated = "principal" in handler.parsed_fn_signature.parameters
    if not authenticated:
        operation.security = []
    parameters = [p for p in operation.parameters or [] if isinstance(p, Parameter)]
    statuses, idempotent = _declared(handler)

    if authenticated:
        statuses.add(401)
        if method != "get":
            statuses.add(403)  # the CSRF token, for a cookie-authenticated write
    if method in WRITES:
        # 503 conflict_retry: a write PostgreSQL undid to break a deadlock (api/errors.py)
        statuses.update((400, 413, 415, 503))
    if operation.request_body is not None:
        statuses.add(422)
    if any(p.param_in == "query" for p in parameters):
        statuses.add(400)
    if any(p.param_in == "path" for p in parameters):
        statuses.add(404)
    if any(p.param_in in ("query", "path") for p in parameters):
        statuses.add(422)  # a parameter holding a character that cannot be stored (U+0000)
    if idempotent:
        statuses.update((400, 409, 422))
        operation.parameters = [*(operation.parameters or []), _idempotency_key()]

    responses = operation.responses or {}
    own = {str(code) for code in handler.responses or {}}  # what the handler declares itself
    for code, response in list(responses.items()):
        if int(code) >= 400 and code not in own:
            del responses[code]  # Litestar's error shapes: this API sends only the envelope
        elif isinstance(response, OpenAPIResponse):
            headers = dict(response.headers or {})
            headers["X-Request-Id"] = Reference(ref="#/components/headers/X-Request-Id")
            if idempotent:
                headers["Idempotent-Replayed"] = Reference(
                    ref="#/components/headers/Idempotent-Replayed"
                )
            response.headers = headers
    for status in statuses:
        name, _ = ERROR_RESPONSES[status]
        responses[str(status)] = Reference(ref=f"#/components/responses/{name}")
    operation.responses = dict(sorted(responses.items()))


def _idempotency_key() -> Parameter:
    return Parameter(
        name="Idempotency-Key",
        param_in="header",
        required=False,
        description=(
            "Any unique string (a UUID, say). A repeat of this request with the same key "
            "within 24 hours answers the first response again (with `Idempotent-Replayed: "
            "true`) and creates nothing; the same key with another body is a `422`."
        ),
        schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=255),
    )


def _error_schemas() -> dict[str, Schema]:
    string = OpenAPIType.STRING
    return {
        "FieldError": Schema(
            type=OpenAPIType.OBJECT,
            required=["field", "message"],
            properties={
                "field": Schema(
                    type=string, description='The field or parameter; "" for the whole body.'
                ),
                "message": Schema(type=string, description="What is wrong with it."),
            },
            title="FieldError",
        ),
        "Error": Schema(
            type=OpenAPIType.OBJECT,
            required=["error"],
            properties={
                "error": Schema(
                    type=OpenAPIType.OBJECT,
                    required=["status", "reason", "message", "request_id"],
                    properties={
                        "status": Schema(
                            type=string,
                            enum=sorted(set(STATUS_NAMES.values())),
                            description="The HTTP status, by name.",
                        ),
                        "reason": Schema(
                            type=string,
                            description="A stable snake_case code for programs.",
                        ),
                        "message": Schema(type=string, description="What happened, for people."),
                        "request_id": Schema(
                            type=string,
                            description="The same as the `X-Request-Id` header, and in the "
                            "server's log line for the request.",
                        ),
                        "fields": Schema(
                            type=OpenAPIType.ARRAY,
                            items=Reference(ref="#/components/schemas/FieldError"),
                            description="With `invalid_body` and `invalid_parameter`: each "
                            "field and what is wrong with it.",
                        ),
                    },
                ),
            },
            title="Error",
            description="The body of every error response.",
        ),
    }


def _error_response(status: int, description: str) -> OpenAPIResponse:
    reason, message = EXAMPLE_REASONS[status]
    example = {
        "error": {
            "status": STATUS_NAMES[status],
            "reason": reason,
            "message": message,
            "request_id": "3f2c9a0d5b1e4c7f8a6d2e1b0c9f8a7d",
        }
    }
    headers: dict[str, OpenAPIHeader | Reference] = {
        "X-Request-Id": Reference(ref="#/components/headers/X-Request-Id")
    }
    if status == 429:
        headers["Retry-After"] = Reference(ref="#/components/headers/Retry-After")
    return OpenAPIResponse(
        description=description,
        headers=headers,
        content={
            "application/json": OpenAPIMediaType(
                schema=Reference(ref="#/components/schemas/Error"),
                examples={reason: Example(value=example)},
            )
        },
    )


def _headers() -> dict[str, OpenAPIHeader | Reference]:
    return {
        "X-Request-Id": OpenAPIHeader(
            description=(
                "This request's id, as in the error body and the server's log: the"
                " request's own `X-Request-ID` when it sent one of 1-64 characters of"
                " `A-Z a-z 0-9 . _ : -`, else one the server made."
            ),
            required=True,
            schema=Schema(type=OpenAPIType.STRING),
        ),
        "Retry-After": OpenAPIHeader(
            description="Seconds to wait before trying again.",
            required=True,
            schema=Schema(type=OpenAPIType.STRING, pattern=r"^[0-9]+$"),
        ),
        "Idempotent-Replayed": OpenAPIHeader(
            description="`true` when this is the stored answer to an earlier request with the "
            "same `Idempotency-Key`.",
            required=False,
            schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
        ),
    }


def _security_schemes() -> dict[str, SecurityScheme | Reference]:
    return {
        "BearerToken": SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description="The token from `POST /auth/login`: `Authorization: Bearer <token>`.",
        ),
        "TokenQuery": SecurityScheme(
            type="apiKey",
            name="token",
            security_scheme_in="query",
            description="The token from `POST /auth/login` as `?token=`.",
        ),
        "TokenCookie": SecurityScheme(
            type="apiKey",
            name="token",
            security_scheme_in="cookie",
            description="The desk's session cookie. Writes need the CSRF token too.",
        ),
        "AccessKey": SecurityScheme(
            type="http",
            scheme="AccessKey",
            description="An access key (`POST /v1.0/accesskeys`): `Authorization: AccessKey "
            "<key>`. It acts as the agent who made it, with that agent's current "
            "permission.",
        ),
        "AccessKeyQuery": SecurityScheme(
            type="apiKey",
            name="accesskey",
            security_scheme_in="query",
            description="An access key as `?accesskey=`.",
        ),
    }

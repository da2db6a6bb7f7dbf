"""The documents under docs/ are the contract users and developers rely on, so they are kept
true here: every API endpoint and resource the app has is in docs/API.md (and nothing
there that the app lacks), every setting the server reads is in docs/SETTINGS.md with its
real default, the webhook documentation matches the code that signs and retries, no file
refers to documents outside the repository, and every relative link leads somewhere.

Fast: the app is built in-process for its OpenAPI document and route table; no server.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API_MD = DOCS / "API.md"
SETTINGS_MD = DOCS / "SETTINGS.md"
WEBHOOKS_MD = DOCS / "WEBHOOKS.md"

ENDPOINT_HEADING = re.compile(r"^#{2,4} `?(GET|POST|PUT|PATCH|DELETE) (/\S*?)`?\s*$", re.M)
RESOURCE_HEADING = re.compile(r"^#{2,4} `(\w+)`\s*$", re.M)
ANY_HEADING = re.compile(r"^#{1,4} ", re.M)


# --- the app, built in-process ------------------------------------------------------------


@pytest.fixture(scope="module")
def app():
    """The application as `serve` builds it. Building it sets the process's database engine
    and provider runtime from these settings: the same ones in-process tests read from the
    environment."""
    from app.asgi import create_app
    from app.settings import Settings

    return create_app(Settings.from_env())


@pytest.fixture(scope="module")
def doc(app) -> dict:
    return app.openapi_schema.to_schema()


def plain_path(path: str) -> str:
    """`/v1.0/agents/{agent_id:str}` as the OpenAPI document writes it."""
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path) or "/"


def app_routes(app) -> set[tuple[str, str]]:
    """Every (method, path) the app answers; a websocket counts as the GET it starts with."""
    from litestar.routes import HTTPRoute, WebSocketRoute

    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            found |= {(m, plain_path(route.path)) for m in route.methods} - {
                (m, plain_path(route.path)) for m in ("OPTIONS", "HEAD")
            }
        elif isinstance(route, WebSocketRoute):
            found.add(("GET", plain_path(route.path)))
    return found


def declared_answers(app) -> dict[tuple[str, str], tuple[set[int], bool]]:
    """(method, path) → the statuses its handler (or its controller) declares because only
    the service knows them (admins only, conflicts), and whether it takes an Idempotency-Key:
    read as the OpenAPI document is completed."""
    from app.api.openapi import _declared, _handlers

    return {(method, path): _declared(h) for (path, method), h in _handlers(app).items()}


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method in ("get", "put", "post", "delete", "patch"):
            if method in item:
                yield method.upper(), path, item[method]


# --- reading the documents ------------------------------------------------------------------


def sections(text: str, heading: re.Pattern) -> dict:
    """Heading match key → the text under it, up to the next heading."""
    starts = [m.start() for m in ANY_HEADING.finditer(text)] + [len(text)]
    found = {}
    for m in heading.finditer(text):
        end = next(s for s in starts if s > m.start())
        key = m.groups() if len(m.groups()) > 1 else m.group(1)
        assert key not in found, f"{key} is documented twice"
        found[key] = text[m.end() : end]
    return found


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def table_rows(text: str) -> list[list[str]]:
    """The cells of the first Markdown table in `text`, header and rule excluded."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("|"):
            rows.append(cells(line))
        elif rows:
            break
    return rows[2:]


def rows_naming(text: str) -> list[list[str]]:
    """The cells of every table row whose first cell names something in backticks."""
    return [cells(line) for line in text.splitlines() if line.startswith("| `")]


def names_in(cell: str) -> list[str]:
    """`a`, `b` → ["a", "b"]: a row may describe several fields of one meaning."""
    return re.findall(r"`([^`]+)`", cell.split("(")[0])


# --- docs/API.md: endpoints -----------------------------------------------------------------


def test_every_endpoint_is_documented_and_every_documented_one_exists(app, doc):
    text = API_MD.read_text()
    documented = set(sections(text, ENDPOINT_HEADING))
    in_document = {(method, path) for method, path, _ in operations(doc)}
    assert len(in_document) > 50
    missing = sorted(in_document - documented)
    assert not missing, f"endpoints with no '### METHOD /path' section in docs/API.md: {missing}"
    unknown = sorted(documented - app_routes(app))
    assert not unknown, f"docs/API.md documents endpoints the app does not have: {unknown}"


def test_each_endpoint_section_names_its_body_answer_and_own_errors(app, doc):
    """The section says what goes in and comes out (by the schema names of the Resources
    part), its success statuses, and every error status only the service knows."""
    text = API_MD.read_text()
    documented = sections(text, ENDPOINT_HEADING)
    declared = declared_answers(app)
    wrong = []
    for method, path, op in operations(doc):
        where = f"{method} {path}"
        section = documented[(method, path)]
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        if (ref := body.get("schema", {}).get("$ref")) and f"`{name_of(ref)}`" not in section:
            wrong.append(f"{where}: its body, `{name_of(ref)}`")
        for code, response in op["responses"].items():
            if not code.startswith("2"):
                continue
            if f"`{code}`" not in section:
                wrong.append(f"{where}: its success status {code}")
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if (ref := schema.get("$ref")) and f"`{name_of(ref)}`" not in section:
                wrong.append(f"{where}: its answer, `{name_of(ref)}`")
        statuses, idempotent = declared[(method, path)]
        wrong += [f"{where}: error {s}" for s in statuses if not re.search(rf"`{s}\b", section)]
        if ("Idempotency-Key" in section) != idempotent:
            wrong.append(f"{where}: whether it takes an Idempotency-Key")
    assert not wrong, "docs/API.md does not say:\n" + "\n".join(wrong)


def name_of(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


# --- docs/API.md: resources -----------------------------------------------------------------


def expected_fields(schema: dict) -> set[str]:
    """A schema's properties; an inline object's as `outer.inner` (the error envelope)."""
    names = set()
    for name, prop in schema["properties"].items():
        if "properties" in prop:
            names |= {f"{name}.{inner}" for inner in prop["properties"]}
        else:
            names.add(name)
    return names


def test_every_resource_is_documented_field_by_field(doc):
    text = API_MD.read_text()
    documented = sections(text, RESOURCE_HEADING)
    schemas = doc["components"]["schemas"]
    objects = {name: s for name, s in schemas.items() if "properties" in s}
    assert len(objects) > 40
    missing = sorted(set(objects) - set(documented))
    assert not missing, f"resources with no '### `Name`' section in docs/API.md: {missing}"
    unknown = sorted(set(documented) - set(schemas))
    assert not unknown, f"docs/API.md documents resources the API does not have: {unknown}"
    for name, schema in objects.items():
        listed = [n for row in table_rows(documented[name]) for n in names_in(row[0])]
        assert len(listed) == len(set(listed)), (name, "a field is listed twice")
        assert set(listed) == expected_fields(schema), (name, sorted(listed))


def test_every_enumeration_lists_its_values(doc):
    """Enumerations live in one table; `EventType` points to docs/EVENTS.md, which lists
    every event type."""
    enums = {n: s["enum"] for n, s in doc["components"]["schemas"].items() if "enum" in s}
    assert "Permission" in enums
    text = API_MD.read_text()
    table = sections(text, re.compile(r"^### (Enumerations)\s*$", re.M))["Enumerations"]
    rows = {names_in(row[0])[0]: row[1] for row in table_rows(table)}
    assert set(rows) == set(enums)
    for name, values in enums.items():
        if name == "EventType":
            assert "(EVENTS.md)" in rows[name]
            continue
        shown = re.findall(r"`([^`]+)`", rows[name])
        assert [v for v in shown if v in values] == list(values), (name, shown)


# --- docs/SETTINGS.md -------------------------------------------------------------------


def settings_read() -> set[str]:
    """Every environment variable app/settings.py reads (it is the only module that reads
    configuration from the environment)."""
    source = (ROOT / "app" / "settings.py").read_text()
    return set(re.findall(r"\b(CONVODESK_[A-Z0-9_]+|DATABASE_URL)\b", source))


def settings_documented() -> dict[str, str]:
    """Setting → its documented default, from the first column of SETTINGS.md's tables."""
    found = {}
    for row in rows_naming(SETTINGS_MD.read_text()):
        [name] = names_in(row[0])  # one setting per row
        assert name not in found, f"{name} is documented twice"
        found[name] = row[1]
    return found


def test_every_setting_is_documented_and_every_documented_one_is_read():
    read, documented = settings_read(), set(settings_documented())
    assert len(read) > 25
    assert not read - documented, f"settings missing from docs/SETTINGS.md: {read - documented}"
    assert not documented - read, f"docs/SETTINGS.md documents unknown: {documented - read}"


def test_documented_defaults_are_the_real_ones():
    """Setting a variable to its documented default changes nothing: the default is true.
    (Defaults written in words, such as "generated into the data directory", are skipped.)"""
    from app.settings import Settings

    defaults = Settings.from_env({})
    checked = 0
    for name, cell in settings_documented().items():
        literal = re.fullmatch(r"`([^`<]+)`", cell)
        if literal is None:
            continue
        assert Settings.from_env({name: literal.group(1)}) == defaults, (name, cell)
        checked += 1
    assert checked > 20


def test_the_documents_name_only_real_settings():
    """A setting named anywhere in the README or docs/ exists (none renamed or removed)."""
    read = settings_read()
    for path in [ROOT / "README.md", *DOCS.glob("*.md")]:
        named = set(re.findall(r"\bCONVODESK_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
        assert named <= read, (path.name, sorted(named - read))
    assert "(docs/SETTINGS.md)" in (ROOT / "README.md").read_text()


# --- docs/WEBHOOKS.md -----------------------------------------------------------------------


def humane(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:g} {unit}"
    return f"{seconds:g} s"


def test_webhook_retry_schedule_and_timeout_are_the_dispatchers():
    from app.webhooks.dispatcher import TIMEOUT
    from app.webhooks.queue import SCHEDULE
    from app.webhooks.signature import SECRET_GRACE

    text = " ".join(WEBHOOKS_MD.read_text().split())
    steps = [humane(s) for s in SCHEDULE]
    assert f"**{', '.join(steps[:-1])} and {steps[-1]}**" in text, steps
    assert f"within **{TIMEOUT:g} seconds**" in text
    assert f"For {SECRET_GRACE.total_seconds() / 3600:g} hours the old one keeps signing" in text


def webhook_example() -> tuple[str, str, dict[str, str], bytes]:
    """The documented delivery: (its secret, its signature, its headers, its body)."""
    text = WEBHOOKS_MD.read_text()
    request = re.search(r"```\n(POST .*?)\n```", text, re.S).group(1)
    head, body = request.split("\n\n", 1)
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    example = r"secret `(whsec_\S+)`, the delivery above is signed\s+`(v1,\S+)`"
    secret, signed = re.search(example, text).groups()
    return secret, signed, headers, body.encode()


def test_the_documented_signature_is_what_the_dispatcher_makes():
    from app.webhooks.signature import header

    secret, signed, headers, body = webhook_example()
    made = header([secret], headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    assert made == signed == headers["webhook-signature"]


def test_the_documented_verifier_accepts_real_deliveries_and_nothing_else():
    """The Python in docs/WEBHOOKS.md, run against signatures the dispatcher makes: with one
    secret, with two (a rotation), a changed body, another secret, an old timestamp."""
    from app.webhooks.signature import header, new_secret

    code = re.search(r"```python\n(.*?)```", WEBHOOKS_MD.read_text(), re.S).group(1)
    scope: dict = {}
    exec(compile(code, str(WEBHOOKS_MD), "exec"), scope)
    verify = scope["verify"]

    current, previous = new_secret(), new_secret()
    body = b'{"id":"7","type":"talk_created","tm_create":"2025-11-21 08:00:00.000000","data":{}}'
    now = int(time.time())

    def delivery(secrets: list[str], at: int = now) -> dict[str, str]:
        return {
            "webhook-id": "7",
            "webhook-timestamp": str(at),
            "webhook-signature": header(secrets, "7", at, body),
        }

    assert verify(current, delivery([current]), body)
    assert verify(current, delivery([current, previous]), body)
    assert verify(previous, delivery([current, previous]), body)
    assert not verify(previous, delivery([current]), body)
    assert not verify(current, delivery([current]), body.replace(b"7", b"8"))
    assert not verify(current, delivery([current], at=now - 3600), body)


# --- the whole repository -------------------------------------------------------------------

# References to the documents the project was specified in, which are not part of it. Each
# is written so that this file does not match itself.
OUTSIDE_REFERENCES = re.compile(
    r"CONTRAC[T]|DESIG[N]\.md|PROVIDER[S]\.md|\bU[I]\.md|\bshare[d]/|\u00a7"
    r"|(?i:\bseeds?[ /]\d|\bthe seed'[s]|\bseed tutoria[l]|\bissue \d)"
)
# A relative path that climbs: `../x`, not part of a word (`U-../x` is a test's input).
CLIMBING = re.compile(r"(?<![\w.\-/])((?:\.\./)+[^\s)\"'`\]>,;]*)")

SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__"}
"""Not the project's: version control, installed packages, caches (any name ending in
`_cache` or `.egg-info` too)."""
SKIPPED_AT_TOP = {"build", "dist", "data", "test-results"}
"""What building, the demo and test runs leave in the project directory."""
VENDORED = (ROOT / "static" / "vendor", ROOT / "tests" / "vendor")
"""Third-party files kept as they were published (the app's; the tests' own, axe-core)."""


def _skipped(directory: Path) -> bool:
    name = directory.name
    if name in SKIPPED_DIRS or name.endswith(("_cache", ".egg-info")) or directory in VENDORED:
        return True
    return directory.parent == ROOT and name in SKIPPED_AT_TOP


def project_files():
    """Every text file of the project: code, templates, static files, docs, tests, scripts,
    benchmarks, configuration."""
    for top, dirs, files in os.walk(ROOT):
        here = Path(top)
        dirs[:] = sorted(d for d in dirs if not _skipped(here / d))
        for name in sorted(files):
            if name in SKIPPED_DIRS:  # a worktree's `.git` is a file
                continue
            data = (here / name).read_bytes()
            if b"\0" in data:
                continue
            try:
                yield here / name, data.decode("utf-8")
            except UnicodeDecodeError:
                continue


def test_no_file_refers_to_documents_outside_the_repository():
    files = list(project_files())
    names = {p.relative_to(ROOT).as_posix() for p, _ in files}
    assert {"README.md", "docs/API.md", "app/settings.py", "tests/conftest.py"} <= names
    assert {"scripts/test", "templates/base.html"} <= names
    found = []
    for path, text in files:
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{number}"
            found += [f"{where}: {m.group(0)!r}" for m in OUTSIDE_REFERENCES.finditer(line)]
            for m in CLIMBING.finditer(line):
                target = (path.parent / m.group(1)).resolve()
                if not target.is_relative_to(ROOT):
                    found.append(f"{where}: {m.group(1)!r} is outside the repository")
    assert not found, "\n".join(found)


# --- links ------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation gone, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def test_every_relative_link_in_the_documents_leads_somewhere():
    documents = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    assert API_MD in documents and SETTINGS_MD in documents and WEBHOOKS_MD in documents
    broken = []
    for document in documents:
        for target in LINK.findall(document.read_text()):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            file_part, _, fragment = target.partition("#")
            linked = (document.parent / file_part).resolve() if file_part else document
            where = f"{document.relative_to(ROOT)}: {target}"
            if not linked.is_relative_to(ROOT) or not linked.exists():
                broken.append(f"{where} (no such file)")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                broken.append(f"{where} (no such heading)")
    assert not broken, "\n".join(broken)

"""Test harness: a real PostgreSQL, a real server process, real HTTP.

Which PostgreSQL: DATABASE_URL when given; else the server on 127.0.0.1:5432 when it
answers; else an embedded one (pgserver) in a temporary directory. A run migrates one
template database with the real `convodesk migrate` command; each test process (each
pytest-xdist worker) then gets its own fresh copy of it, and every test starts from empty
tables.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from net_kit import free_port, port_open

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-secret-key-" + "k" * 32
_state: dict[str, object] = {}


# --- where PostgreSQL is ------------------------------------------------------------


def run_async(coro):
    """Run `coro` to its end: on the in-process app's event loop while that app runs (its
    database pool lives there), else with asyncio.run, also from inside a running loop
    (Playwright's sync API keeps one in the main thread): then in a worker thread."""
    portal = _state.get("portal")
    if portal is not None:
        return portal.call(_awaited, coro)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _awaited(coro):
    return await coro


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _base_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if port_open("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    import pgserver

    tmp = tempfile.mkdtemp(prefix="convodesk-test-pg-")
    _state["pg_dir"] = tmp
    _state["pgserver"] = pgserver.get_server(tmp, cleanup_mode="delete")
    return _state["pgserver"].get_uri("postgres")


def admin_sql(sql: str) -> None:
    run_async(_admin(sql, _state["admin_url"]))


async def _admin(sql: str, admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def own_database(label: str) -> str:
    """A migrated database of its own, for a module whose server's sender must be the only
    one sending its messages (the session server's sender, pointed at no provider, would
    otherwise take some of them and retry them later). Emptied before each test of the
    module that made it, dropped after its last one."""
    url = migrated_database(f"convodesk_{label}")
    _state.setdefault("also_emptied", []).append(url)
    return url


def _database_name(prefix: str) -> str:
    # the worker id keeps the databases of parallel test processes apart at a glance
    return f"{prefix}_{_state.get('worker', 'main')}_{uuid.uuid4().hex[:10]}"


def create_database(prefix: str = "convodesk_test") -> str:
    """A new empty database on the test server; returns its URL."""
    name = _database_name(prefix)
    run_async(_admin(f'CREATE DATABASE "{name}"', _state["admin_url"]))
    return _made(name)


def _made(name: str) -> str:
    _state.setdefault("databases", []).append(name)
    # a commit need not wait for the disk: nothing here must survive a crash of PostgreSQL
    run_async(_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off', _state["admin_url"]))
    return with_database(_state["admin_url"], name)


def migrated_database(prefix: str = "convodesk_test") -> str:
    """A new database with every migration applied: a copy of the run's template, which
    `convodesk migrate` made (copying is a fraction of a second; migrating takes seconds)."""
    name = _database_name(prefix)
    template = _state["template"]
    for attempt in range(20):
        try:
            run_async(
                _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"', _state["admin_url"])
            )
            break
        except asyncpg.ObjectInUseError:
            # another worker is copying the template right now (PostgreSQL copies a template
            # only while nobody else uses it)
            time.sleep(0.05 * (attempt + 1))
    else:
        raise RuntimeError(f"could not copy the template database {template}")
    return _made(name)


def _make_template() -> str:
    url = create_database("convodesk_template")
    done = run_cli("migrate", env=cli_env(DATABASE_URL=url))
    if done.returncode != 0:
        raise pytest.UsageError(f"migrations failed:\n{done.stdout}\n{done.stderr}")
    return url.rsplit("/", 1)[1]


UNREACHABLE = "http://127.0.0.1:9"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FAST_HASHING = {"CONVODESK_PASSWORD_HASHING": "fast"}
"""Tests create and sign in agents by the thousand; what they check of passwords never
depends on the hash's cost (one test checks the production parameters)."""
PROVIDER_APIS = ("TWILIO", "LINE", "LINE_DATA", "WHATSAPP")


def cli_env(**overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVODESK_")}
    env.update(
        {
            "DATABASE_URL": _state.get("db_url", ""),
            "CONVODESK_SECRET_KEY": SECRET_KEY,
            # processes share notices through the machine's Redis (tests/README: TEST_REDIS_URL)
            "CONVODESK_REDIS_URL": REDIS_URL,
            **FAST_HASHING,
            "PYTHONUNBUFFERED": "1",
            # No test ever reaches a real provider: every base points at a closed local
            # port unless a test module points it at its own stand-in.
            **{f"CONVODESK_{name}_API_BASE": UNREACHABLE for name in PROVIDER_APIS},
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _xdist_controller(config: pytest.Config) -> bool:
    """Whether this process only hands tests to pytest-xdist workers (runs none itself)."""
    return not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") != "no"


def pytest_configure(config: pytest.Config) -> None:
    from run_order import RunOrder

    config.pluginmanager.register(RunOrder(config), "convodesk-run-order")
    worker = getattr(config, "workerinput", None)
    if worker is not None:  # a pytest-xdist worker: the controller made the template
        _state["worker"] = worker["workerid"]
        _state["admin_url"] = worker["convodesk_admin_url"]
        _state["template"] = worker["convodesk_template"]
    else:
        _state["admin_url"] = with_database(_base_url(), "postgres")
        _state["template"] = _make_template()
        if _xdist_controller(config):
            return
    url = migrated_database()
    _state["db_url"] = url
    # In-process service tests import app modules, which read these.
    os.environ["DATABASE_URL"] = url
    os.environ["CONVODESK_SECRET_KEY"] = SECRET_KEY
    os.environ.update(FAST_HASHING)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist: each worker copies the controller's template on the same server."""
    node.workerinput["convodesk_admin_url"] = _state["admin_url"]
    node.workerinput["convodesk_template"] = _state["template"]


def pytest_unconfigure(config: pytest.Config) -> None:
    async def drop(name: str) -> None:
        try:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', _state["admin_url"])
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide test results
            print(f"could not drop test database {name}: {exc}", file=sys.stderr)

    async def drop_all() -> None:
        # at once: each DROP waits for a checkpoint, which they can then share
        await asyncio.gather(*(drop(name) for name in _state.get("databases", [])))

    run_async(drop_all())
    if "pg_dir" in _state:
        _state["pgserver"].cleanup()
        shutil.rmtree(_state["pg_dir"], ignore_errors=True)


# --- fixtures -----------------------------------------------------------------------


async def _truncate() -> None:
    for url in [_state["db_url"], *_state.get("also_emptied", [])]:
        await _empty(url)


async def _empty(url: str) -> None:
    """DELETE, children before parents: a few milliseconds for the handful of rows a test
    leaves, where TRUNCATE of every table costs 100-400 ms (it makes new files for each
    table). Ids are not restarted; no test depends on their values."""
    from piccolo.table import sort_table_classes

    from app.db.tables import ALL_TABLES  # only now: importing it needs DATABASE_URL set

    tables = [t._meta.tablename for t in reversed(sort_table_classes(ALL_TABLES))]
    statements = ";".join(f"DELETE FROM {name}" for name in tables)
    conn = await asyncpg.connect(url)
    try:
        for attempt in range(5):
            try:
                async with conn.transaction():
                    await conn.execute(statements)
                return
            except asyncpg.DeadlockDetectedError:
                # the session server's workers were mid-query; PostgreSQL chose us: again
                await asyncio.sleep(0.1 * (attempt + 1))
        raise RuntimeError("could not empty the tables between tests")
    finally:
        await conn.close()


@pytest.fixture(autouse=True)
def clean_tables(request):
    if request.node.get_closest_marker("pure") is None:
        run_async(_truncate())


@pytest.fixture(scope="module", autouse=True)
def own_databases_end_with_their_module():
    """A module's own databases need no emptying once its last test has run."""
    yield
    _state.pop("also_emptied", None)


@pytest.fixture
def db_url() -> str:
    return _state["db_url"]


class ServerProcess:
    """`convodesk serve` in a child process, on a free port."""

    def __init__(
        self,
        env: dict[str, str],
        args: tuple[str, ...] = (),
        command: str = "serve",
        port: int | None = None,
        nofile: int | None = None,
        argv: tuple[str, ...] | None = None,
    ):
        """`nofile`: the server's RLIMIT_NOFILE (soft and hard), to run it short of file
        descriptors. `argv`: the whole command line after `python -m app`, as given (a
        deployment's own), instead of `command`, the port and `args`."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # every server its own SMTP port, so servers (and test runs) never collide
        env = {"CONVODESK_PUBLIC_URL": self.url, "CONVODESK_SMTP_PORT": str(free_port()), **env}
        self.smtp_port = int(env["CONVODESK_SMTP_PORT"])
        self.log_path = Path(tempfile.mkstemp(prefix="convodesk-server-", suffix=".log")[1])
        self._log = self.log_path.open("w")
        port_args = () if command == "worker" else ("--port", str(self.port))
        if argv is None:
            argv = (command, *port_args, *args)

        def limit_files() -> None:
            if nofile:
                import resource

                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", *argv],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_files if nofile else None,
        )

    def wait_ready(self, timeout: float = 60) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture(scope="session")
def server():
    """One server process for the session's tests, on the session's database. It stays up
    while other modules run, so its lifecycle worker never closes rooms: a module that
    makes rooms quiet for weeks (tests/report_kit.py's month) must find them as it made
    them. Tests of the lifecycle start a server of their own. Nor do its automation rounds
    come between a test's own rounds at the times it chooses (tests/test_automation_timers.py,
    tests/test_automation_done_when.py): only its first, at its start."""
    srv = ServerProcess(
        cli_env(CONVODESK_CLOSE_AFTER=str(3650 * 86400), CONVODESK_AUTOMATION_TICK="3600")
    ).wait_ready()
    yield srv
    srv.stop()


IN_PROCESS_URL = "http://convodesk.test"


@pytest.fixture(scope="module")
def in_process_app(request):
    """The app in this process (Litestar's TestClient, lifespan and workers included, on
    an event loop in a thread of its own), for a module's tests that need no server
    process: no start-up to wait for, no sockets. Up for one module, so async tests in
    other modules never meet its database pool from another loop. A module's
    `IN_PROCESS_SETTINGS` (a dict of `CONVODESK_*` values) adds to its settings: a module
    that drives a worker itself keeps the app's own rounds of it out of the way."""
    from litestar.testing import TestClient

    from app.asgi import create_app
    from app.settings import Settings

    env = cli_env(
        CONVODESK_PUBLIC_URL=IN_PROCESS_URL,
        CONVODESK_SMTP_PORT="0",
        **getattr(request.module, "IN_PROCESS_SETTINGS", {}),
    )
    app = create_app(Settings.from_env(env))
    # a 500 comes back as the server would send it, so tests see what clients would see
    with TestClient(app, base_url=IN_PROCESS_URL, timeout=30, raise_server_exceptions=False) as c:
        _state["portal"] = c.blocking_portal
        try:
            yield c
        finally:
            del _state["portal"]


@pytest.fixture
def client(request) -> httpx.Client:
    """The API of the session's server when the test uses that server (its sockets, log
    or pages); else of the in-process app, on the same database."""
    if "server" in request.fixturenames:
        server = request.getfixturevalue("server")
        with httpx.Client(base_url=server.url, timeout=30) as c:
            yield c
        return
    app = request.getfixturevalue("in_process_app")
    app.cookies.clear()
    yield app
    app.cookies.clear()


# --- tenants --------------------------------------------------------------------------


async def on_database(url: str, coro):
    """Await `coro` with this process's services on the database at `url` (a module's own)
    instead of the session's. Only while no pool is open: without one, every query and
    transaction connects anew with `DB.config`."""
    from app.db.piccolo_conf import DB

    assert DB.pool is None, "the in-process app's pool serves the session's database only"
    saved = DB.config
    DB.config = {**saved, "dsn": url}
    try:
        return await coro
    finally:
        DB.config = saved


class Tenant:
    """A customer with an admin, a manager and an agent, each with a session token.

    Made through the services, with tokens issued the way sign-in issues them: only the
    tests about signing in go through `POST /auth/login` (and pay for its hashing)."""

    def __init__(self, client: httpx.Client, label: str, db_url: str | None = None):
        """On the session database, or given `db_url` on that one."""
        self.client = client
        self.password = "pass-" + label + "-123"
        names = {p: f"{label}-{p}" for p in ("admin", "manager", "agent")}
        if db_url is None:
            made = run_async(self._create(f"Customer {label}", names))
        elif _state.get("portal") is None:
            made = run_async(on_database(db_url, self._create(f"Customer {label}", names)))
        else:  # the in-process app's pool serves the session's database only
            made = self._create_with_cli(f"Customer {label}", names, db_url)
        self.customer_id = made["customer"]
        self.admin_id, self.manager_id, self.agent_id = (made[p] for p in names)
        self.admin, self.manager, self.agent = (self.token_for(made[p], names[p]) for p in names)

    async def _create(self, name: str, names: dict[str, str]) -> dict[str, str]:
        from app.domain.enums import Permission
        from app.domain.principal import Principal
        from app.domain.resources import AgentCreate
        from app.people import agents, customers

        customer, admin_id = await customers.create_customer(
            name=name, username=names["admin"], password=self.password
        )
        made = {"customer": customer.id, "admin": admin_id}
        admin = Principal(
            customer_id=customer.id,
            agent_id=admin_id,
            username=names["admin"],
            permission=Permission.ADMIN,
            via="token",
        )
        for permission in ("manager", "agent"):
            body = AgentCreate(
                username=names[permission],
                password=self.password,
                permission=Permission(permission),
            )
            made[permission] = (await agents.create_agent(admin, body)).id
        return made

    def _create_with_cli(self, name: str, names: dict[str, str], db_url: str) -> dict[str, str]:
        env = cli_env(DATABASE_URL=db_url)
        done = run_cli(
            *("customer", "create", "--name", name),
            *("--username", names["admin"], "--password", self.password),
            env=env,
        )
        assert done.returncode == 0, done.stderr
        created = json.loads(done.stdout.strip().splitlines()[-1])
        made = {"customer": created["customer_id"], "admin": created["agent_id"]}
        admin = self.token_for(made["admin"], names["admin"], made["customer"])
        for permission in ("manager", "agent"):
            made[permission] = self._post_agent(admin, names[permission], permission)
        return made

    def token_for(self, agent_id: str, username: str, customer_id: str | None = None) -> dict:
        """Authorization headers with a token as `POST /auth/login` would give this agent."""
        from app.people.auth import issue_token

        customer = str(customer_id or self.customer_id)
        token = issue_token(str(agent_id), customer, username, SECRET_KEY, 86400)
        return {"Authorization": f"Bearer {token}"}

    def login(self, username: str, password: str | None = None) -> dict[str, str]:
        r = self.client.post(
            "/auth/login", json={"username": username, "password": password or self.password}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def channel(self, reference_type: str = "message", address: str = "", **settings):
        """A loopback channel account standing in for `reference_type` (an AccountRow)."""
        from app.channels import accounts

        defaults = {
            "message": "+15550001111",
            "email": "support@acme.example",
            "line": "Ubot0000000000000000000000000000",
            "webchat": "widget",
            "whatsapp": "15550001111",
        }
        return run_async(
            accounts.create_account(
                self.customer_id,
                type="loopback",
                address=address or defaults[reference_type],
                name=f"{reference_type} (loopback)",
                settings={"reference_type": reference_type, **settings},
            )
        )

    def add_agent(self, username: str, permission: str) -> str:
        return self._post_agent(self.admin, username, permission)

    def _post_agent(self, admin: dict[str, str], username: str, permission: str) -> str:
        r = self.client.post(
            "/v1.0/agents",
            headers=admin,
            json={"username": username, "password": self.password, "permission": permission},
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]


@pytest.fixture
def tenant(client) -> Tenant:
    return Tenant(client, "acme")


@pytest.fixture
def other_tenant(client) -> Tenant:
    return Tenant(client, "globex")


def assert_error(response: httpx.Response, status: int, reason: str | None = None) -> dict:
    """The API's error envelope (docs/API.md, Errors), with the request id that the
    response header carries."""
    assert response.status_code == status, response.text
    body = response.json()
    error = body["error"]
    assert set(error) >= {"status", "reason", "message", "request_id"}
    assert error["request_id"] == response.headers["x-request-id"]
    assert error["message"]
    if reason is not None:
        assert error["reason"] == reason, error
    return error


def tell_servers(customer_id: str, what: str, db_url: str | None = None) -> None:
    """A notice on the live bus, as a worker process sends after it commits, so servers'
    websockets read the customer's new events at once (they read them from the table)."""
    from app.core import bus
    from app.settings import Settings

    settings = Settings.from_env(cli_env(DATABASE_URL=db_url or _state["db_url"]))
    notice = {"id": 0, "customer_id": customer_id, "type": what}
    run_async(bus.tell(settings, [notice]))


def inbound(account, peer: str, text: str = "hello", **fields):
    """A message arriving on `account` from `peer`, through the one inbound entry point;
    then a notice on the bus (`tell_servers`)."""
    from app.conversations import messages
    from app.domain.inbound import InboundMessage

    received = run_async(messages.receive(account, InboundMessage(peer=peer, text=text, **fields)))
    tell_servers(str(account.customer_id), "inbound")
    return received


def wait_for(check, timeout: float = 10.0, interval: float = 0.05):
    """Poll `check()` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(interval)


# --- the browser (desk, admin pages, widget) ------------------------------------------

CHROMIUM = "/usr/bin/chromium"  # Debian's; `playwright install` cannot download here
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE_MS = 3000  # "within a second" on a quiet machine; the shared 2-core CI gets slack


@pytest.fixture(scope="module")  # Playwright's loop must be gone before other modules run
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser):
    """Pages in fresh browser contexts (no shared cookies); a confirm() or alert() fails
    the test: the desk asks on the page itself."""
    contexts = []

    def make(width: int = 1280, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(f"dialog: {d.message}")))
        return page

    yield make
    for context in contexts:
        context.close()

"""Test harness: a real PostgreSQL, a real server process, real HTTP.

Which PostgreSQL: DATABASE_URL when given; else the server on 127.0.0.1:5432 when it
answers; else an embedded one (pgserver) in a temporary directory. Each test session gets
its own fresh database on it, migrated by the real `convodesk migrate` command, and every
test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
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

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-secret-key-" + "k" * 32
_state: dict[str, object] = {}


# --- where PostgreSQL is ------------------------------------------------------------


def run_async(coro):
    """asyncio.run, also from inside a running loop (Playwright's sync API keeps one in
    the main thread): then it runs in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _base_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if _port_open("127.0.0.1", 5432):
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
    otherwise take some of them and retry them later)."""
    url = create_database(f"convodesk_{label}")
    done = run_cli("migrate", env=cli_env(DATABASE_URL=url))
    assert done.returncode == 0, done.stderr
    _state.setdefault("also_emptied", []).append(url)  # every test starts empty there too
    return url


def create_database(prefix: str = "convodesk_test") -> str:
    """A new empty database on the test server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    run_async(_admin(f'CREATE DATABASE "{name}"', _state["admin_url"]))
    _state.setdefault("databases", []).append(name)
    return with_database(_state["admin_url"], name)


UNREACHABLE = "http://127.0.0.1:9"
PROVIDER_APIS = ("TWILIO", "LINE", "LINE_DATA", "WHATSAPP")


def cli_env(**overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVODESK_")}
    env.update(
        {
            "DATABASE_URL": _state["db_url"],
            "CONVODESK_SECRET_KEY": SECRET_KEY,
            "CONVODESK_EVENT_BUS": "postgres",
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


def pytest_configure(config: pytest.Config) -> None:
    admin = with_database(_base_url(), "postgres")
    _state["admin_url"] = admin
    url = create_database()
    _state["db_url"] = url
    # In-process service tests import app modules, which read these.
    os.environ["DATABASE_URL"] = url
    os.environ["CONVODESK_SECRET_KEY"] = SECRET_KEY
    done = run_cli("migrate")
    if done.returncode != 0:
        raise pytest.UsageError(f"migrations failed:\n{done.stdout}\n{done.stderr}")


def pytest_unconfigure(config: pytest.Config) -> None:
    for name in _state.get("databases", []):
        try:
            run_async(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', _state["admin_url"]))
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide test results
            print(f"could not drop test database {name}: {exc}", file=sys.stderr)
    if "pg_dir" in _state:
        _state["pgserver"].cleanup()
        shutil.rmtree(_state["pg_dir"], ignore_errors=True)


# --- fixtures -----------------------------------------------------------------------


async def _truncate() -> None:
    for url in [_state["db_url"], *_state.get("also_emptied", [])]:
        await _empty(url)


async def _empty(url: str) -> None:
    from app.db.tables import ALL_TABLES  # only now: importing it needs DATABASE_URL set

    tables = ", ".join(t._meta.tablename for t in ALL_TABLES)
    conn = await asyncpg.connect(url)
    try:
        for attempt in range(5):
            try:
                await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
                return
            except asyncpg.DeadlockDetectedError:
                # the session server's workers were mid-query; PostgreSQL chose us: again
                await asyncio.sleep(0.1 * (attempt + 1))
        raise RuntimeError("could not empty the tables between tests")
    finally:
        await conn.close()


@pytest.fixture(autouse=True)
def clean_tables():
    run_async(_truncate())


@pytest.fixture
def db_url() -> str:
    return _state["db_url"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`convodesk serve` in a child process, on a free port."""

    def __init__(
        self,
        env: dict[str, str],
        args: tuple[str, ...] = (),
        command: str = "serve",
        port: int | None = None,
        nofile: int | None = None,
    ):
        """`nofile`: the server's RLIMIT_NOFILE (soft and hard), to run it short of file
        descriptors."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # every server its own SMTP port, so servers (and test runs) never collide
        env = {"CONVODESK_PUBLIC_URL": self.url, "CONVODESK_SMTP_PORT": str(free_port()), **env}
        self.smtp_port = int(env["CONVODESK_SMTP_PORT"])
        self.log_path = Path(tempfile.mkstemp(prefix="convodesk-server-", suffix=".log")[1])
        self._log = self.log_path.open("w")
        port_args = () if command == "worker" else ("--port", str(self.port))

        def limit_files() -> None:
            if nofile:
                import resource

                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", command, *port_args, *args],
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
    srv = ServerProcess(cli_env()).wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def client(server) -> httpx.Client:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


# --- tenants --------------------------------------------------------------------------


class Tenant:
    """A customer with an admin, a manager and an agent, each signed in."""

    def __init__(self, client: httpx.Client, label: str, db_url: str | None = None):
        """On the session database; or, given `db_url`, on that one (made with the real
        `convodesk customer create`, as this process's services use the session's)."""
        from app.services import customers

        self.client = client
        self.password = "pass-" + label + "-123"
        admin_username = f"{label}-admin"
        if db_url is None:
            customer, admin_id = run_async(
                customers.create_customer(
                    name=f"Customer {label}", username=admin_username, password=self.password
                )
            )
            self.customer_id = customer.id
        else:
            made = run_cli(
                *("customer", "create", "--name", f"Customer {label}"),
                *("--username", admin_username, "--password", self.password),
                env=cli_env(DATABASE_URL=db_url),
            )
            assert made.returncode == 0, made.stderr
            created = json.loads(made.stdout.strip().splitlines()[-1])
            self.customer_id, admin_id = created["customer_id"], created["agent_id"]
        self.admin_id = admin_id
        self.admin = self.login(admin_username)
        self.manager_id = self.add_agent(f"{label}-manager", "manager")
        self.manager = self.login(f"{label}-manager")
        self.agent_id = self.add_agent(f"{label}-agent", "agent")
        self.agent = self.login(f"{label}-agent")

    def login(self, username: str, password: str | None = None) -> dict[str, str]:
        r = self.client.post(
            "/auth/login", json={"username": username, "password": password or self.password}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def channel(self, reference_type: str = "message", address: str = "", **settings):
        """A loopback channel account standing in for `reference_type` (an AccountRow)."""
        from app.services import accounts

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
        r = self.client.post(
            "/v1.0/agents",
            headers=self.admin,
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


def inbound(account, peer: str, text: str = "hello", **fields):
    """A message arriving on `account` from `peer`, through the one inbound entry point;
    then a notice on the PostgreSQL bus, as a worker process would send, so servers'
    websockets pick it up at once (they read the events themselves from the table)."""
    from app.domain.inbound import InboundMessage
    from app.realtime import bus
    from app.services import messages

    async def go():
        received = await messages.receive(account, InboundMessage(peer=peer, text=text, **fields))
        publisher = bus.PostgresPublisher(_state["db_url"])
        notice = {"id": 0, "customer_id": str(account.customer_id), "type": "inbound"}
        await publisher(notice)
        await publisher.close()
        return received

    return run_async(go())


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

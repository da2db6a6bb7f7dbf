"""Shared pieces for benchmarks: a fresh database, a real server process, and figures.

Benchmarks are not tests: they print their figures (medians and percentiles, since the
machine has two cores and absolute numbers move with its load) for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
# The socket probes (free port, health check, held connections) are the tests' own.
sys.path.insert(0, str(ROOT / "tests"))
from net_kit import ask_health, free_port, holds_connection  # noqa: E402, F401

SECRET = "bench-secret-key-" + "b" * 32


def admin_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def fresh_database() -> str:
    name = f"convodesk_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url())
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return urlunsplit(urlsplit(admin_url())._replace(path="/" + name))


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url())
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


def bind_app_to(url: str):
    """Point this process's app modules (which bind their engine at import) at the bench
    database; returns the function that puts the environment back."""
    before = {k: os.environ.get(k) for k in ("DATABASE_URL", "CONVODESK_SECRET_KEY")}
    os.environ["DATABASE_URL"] = url
    os.environ["CONVODESK_SECRET_KEY"] = SECRET

    def restore() -> None:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    return restore


def db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
"""The Redis of benchmarks that run several processes (or a process and the bench)."""


async def bench_outbox(env: dict[str, str]):
    """The bench process's own outbox on the server's bus, as a worker process keeps one:
    (outbox, close)."""
    from app.core import bus
    from app.settings import Settings

    line = bus.connect(Settings.from_env(env), across_processes=True)
    await line.start()
    outbox = bus.Outbox(line)
    outbox.start()

    async def close() -> None:
        await outbox.close()
        await line.close()

    return outbox, close


def env_for(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVODESK_")}
    env.update(
        {
            "DATABASE_URL": url,
            "CONVODESK_SECRET_KEY": SECRET,
            "CONVODESK_LOG_LEVEL": "warning",
            # no inbound mail in benchmarks: the SMTP port is never shared, so another
            # Convodesk on this machine holding 2525 would stop the bench server
            "CONVODESK_SMTP_PORT": "0",
        },
        **extra,
    )
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return done.stdout


@contextmanager
def customer_database() -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """A fresh database, migrated, with one customer whose admin signs in as bench-admin /
    bench-password, this process's app modules bound to it: (url, the environment for
    `cli` and servers, {"customer_id", "agent_id"}). Dropped afterwards."""
    url = fresh_database()
    env = env_for(url)
    restore = bind_app_to(url)  # app modules bind their engine at import
    try:
        cli(env, "migrate")
        created = cli(
            env,
            *("customer", "create", "--name", "Bench", "--username", "bench-admin"),
            *("--password", "bench-password"),
        )
        yield url, env, json.loads(created)
    finally:
        restore()
        drop_database(url)


SERVER_KINDS = ("convodesk", "whatif", "uvicorn", "granian", "hypercorn")
"""`convodesk serve` (uvicorn with our HTTP protocol), and for comparison the same app
under plain uvicorn, Granian and Hypercorn (`pip install granian hypercorn` to measure
those; they are not dependencies)."""


def server_command(kind: str, port: int, workers: int = 1) -> list[str]:
    """The command that serves the app on 127.0.0.1:port with the given server. The others
    get the bounds their documentation offers for slow clients: Granian's header read
    timeout (10 s, as ours) and Hypercorn's keep-alive and read timeouts."""
    factory = "app.asgi:app_from_env"
    bin_dir = Path(sys.executable).parent
    if kind == "convodesk":
        return [
            sys.executable,
            "-m",
            "app",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
    if kind == "whatif":  # bench/whatif.py: convodesk without the event writers' lock
        assert workers == 1, "the what-if patches one process"
        here = str(Path(__file__).parent / "whatif.py")
        return [sys.executable, here, "serve", "--port", str(port), "--workers", "1"]
    if kind == "uvicorn":
        return [
            *(sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port)),
            *("--workers", str(workers), "--http", "httptools", "--no-access-log"),
            *("--lifespan", "on", "--log-level", "warning"),
        ]
    if kind == "granian":
        return [
            *(str(bin_dir / "granian"), "--interface", "asgi", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            *("--http", "1", "--loop", "uvloop", "--http1-header-read-timeout", "10000"),
            *("--log-level", "warning", factory),
        ]
    if kind == "hypercorn":
        return [
            *(str(bin_dir / "hypercorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
            *("--keep-alive", "5", "--read-timeout", "10", "--worker-class", "uvloop"),
            *("--log-level", "warning", "app.asgi:app_from_env()"),
        ]
    raise ValueError(f"unknown server kind {kind!r}; one of {', '.join(SERVER_KINDS)}")


class Server:
    def __init__(
        self,
        env: dict[str, str],
        workers: int = 1,
        profile: str | None = None,
        kind: str = "convodesk",
        nofile: int | None = None,
    ):
        """`profile`: a file to write the server's cProfile stats to when it stops (one
        worker only: cProfile sees the main thread, where uvicorn runs the event loop).
        `kind`: which HTTP server runs the app (SERVER_KINDS); `nofile`: the server's
        RLIMIT_NOFILE (soft and hard), to see it run short of file descriptors."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)
        command = server_command(kind, self.port, workers)
        if profile:
            assert kind == "convodesk", "profiling runs `convodesk serve`"
            command = [sys.executable, "-m", "cProfile", "-o", profile, *command[1:]]
        if kind not in ("convodesk", "whatif"):
            env = {"CONVODESK_PUBLIC_URL": self.url, **env}

        def limit_files() -> None:
            if nofile:
                import resource

                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_files,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start: " + Path(self.log.name).read_text())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


async def make_agents(
    url: str, customer_id: str, count: int, prefix: str = "agent", permission: str = "agent"
) -> list[dict]:
    """`count` agents of a customer in one INSERT (they share the first agent's password
    hash: Argon2id per agent would take ~0.1 s each). Returns id, customer_id, username
    of each, in order; tokens come from app.people.auth.issue_token(id, customer_id,
    username, SECRET, ttl)."""
    conn = await asyncpg.connect(url)
    try:
        hash_ = await conn.fetchval("SELECT password_hash FROM agents LIMIT 1")
        rows = await conn.fetch(
            "INSERT INTO agents (id, customer_id, username, name, detail, password_hash,"
            " permission, status, tm_create, tm_update)"
            " SELECT gen_random_uuid(), $1, $2 || '-' || i, $2 || ' ' || i, '', $3, $4,"
            " 'available', now(), now() FROM generate_series(1, $5) i"
            " ORDER BY i RETURNING id, customer_id, username",
            customer_id,
            prefix,
            hash_,
            permission,
            count,
        )
    finally:
        await conn.close()
    return [{k: str(v) for k, v in r.items()} for r in rows]


def start_worker(env: dict[str, str], url: str) -> subprocess.Popen:
    """`convodesk worker` on the database at `url`, returned once it holds its database
    connections (and a second more, for its first poll)."""
    log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)
    worker = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    pg_port = urlsplit(url).port or 5432
    deadline = time.monotonic() + 60
    while not holds_connection(worker.pid, pg_port):
        if time.monotonic() > deadline or worker.poll() is not None:
            raise RuntimeError("worker did not start: " + Path(log.name).read_text())
        time.sleep(0.1)
    time.sleep(1)
    return worker


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(label: str, millis: list[float]) -> str:
    return (
        f"{label:<44} n={len(millis):<5} median={statistics.median(millis):7.2f} ms"
        f"  p95={percentile(millis, 95):7.2f} ms  p99={percentile(millis, 99):7.2f} ms"
    )


# --- where the CPU goes ---------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def _tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of a process and its children (uvicorn's worker processes), by pid."""
    return {p: _proc_cpu(p) for p in [pid, *_children(pid)]}


def _postgres_pids(database: str | None = None) -> list[int]:
    """PostgreSQL's processes; with `database`, only the postmaster serving it, its
    auxiliary processes (WAL writer, checkpointer ...) and the backends connected to that
    database (not other databases' backends, nor other PostgreSQL servers)."""
    procs = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() != "postgres":
                    continue
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            procs[int(entry.name)] = (ppid, title)
    if database is None:
        return list(procs)
    mine = {pid for pid, (_, title) in procs.items() if f" {database} " in title}
    masters = {procs[pid][0] for pid in mine}
    if not masters:
        return list(procs)

    def backend(title: str) -> bool:
        return "(" in title.split(":")[-1] or "[local]" in title

    return [
        pid
        for pid, (ppid, title) in procs.items()
        if pid in masters or pid in mine or (ppid in masters and not backend(title))
    ]


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / _TICK, sum(values) / _TICK


class CpuMeter:
    """CPU seconds spent during a phase by: the machine, PostgreSQL (its processes alive
    at both ends of the phase, which covers pooled connections; with `database`, only the
    backends of that database and the auxiliary processes), and the given pids (with
    their child processes).

        meter = CpuMeter(db_name(url), server=server.proc.pid, bench=os.getpid())
        ...
        usage = meter.stop()
    """

    def __init__(self, database: str | None = None, **pids: int) -> None:
        self.pids = pids
        self.database = database
        self.wall = time.perf_counter()
        self.machine = _machine_busy()
        self.pg = {pid: _proc_cpu(pid) for pid in _postgres_pids(database)}
        self.own = {name: _tree_cpu(pid) for name, pid in pids.items()}

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        busy, total = _machine_busy()
        pg_now = {pid: _proc_cpu(pid) for pid in _postgres_pids(self.database)}
        pg = sum(pg_now[p] - self.pg[p] for p in pg_now if p in self.pg)
        out = {"wall": wall, "machine": busy - self.machine[0], "postgres": pg}
        out["cores_busy"] = out["machine"] / wall
        for name, pid in self.pids.items():
            now = _tree_cpu(pid)
            out[name] = sum(v - self.own[name].get(p, 0.0) for p, v in now.items())
        return out


def others(usage: dict[str, float], *extra: str) -> float:
    """Cores kept busy during the phase by processes this benchmark did not account for
    (another job on the machine, or the kernel): a large figure means disturbed numbers."""
    known = sum(v for k, v in usage.items() if k not in ("wall", "machine", "cores_busy"))
    known += sum(usage.get(k, 0.0) for k in extra)
    return max(0.0, usage["machine"] - known) / usage["wall"]


def cpu_line(usage: dict[str, float]) -> str:
    """One line: how many of the 2 cores each party kept busy during the phase."""
    wall = usage["wall"]
    parts = [f"machine {usage['cores_busy']:.2f} cores"]
    parts += [
        f"{k} {v / wall:.2f}"
        for k, v in usage.items()
        if k not in ("wall", "machine", "cores_busy")
    ]
    parts.append(f"unaccounted {others(usage):.2f}")
    return "  cpu: " + ", ".join(parts) + " (cores, averaged over the phase)"


def wait_for_quiet(limit: float = 120.0, busy: float = 0.3) -> float:
    """Wait (up to `limit` s) until the machine has been quieter than `busy` cores for 2 s
    in a row, so that another job's load does not end up in the figures. Returns the
    cores busy in the last second sampled."""
    deadline = time.monotonic() + limit
    quiet = 0
    while True:
        b0, t0 = _machine_busy()
        time.sleep(1)
        b1, t1 = _machine_busy()
        cores = (b1 - b0) / max(1e-9, (t1 - t0)) * (os.cpu_count() or 1)
        quiet = quiet + 1 if cores < busy else 0
        if quiet >= 2 or time.monotonic() > deadline:
            return cores


class ActivitySampler:
    """Samples pg_stat_activity of one database every `interval` s while running: what its
    backends are doing (running a query, waiting on a lock, idle in a transaction waiting
    for the client ...). `shares()` gives each state's share of the backend-samples that
    were not plain idle."""

    def __init__(
        self, url: str, interval: float = 0.05, advisory: dict[int, str] | None = None
    ) -> None:
        self.url = url
        self.advisory = advisory or {}
        """Names of advisory lock classes (the first int of pg_advisory_xact_lock(int,
        int)), to say which lock backends wait on."""
        self.interval = interval
        self.counts: dict[str, int] = {}
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> ActivitySampler:
        self._conn = await asyncpg.connect(self.url)
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        await self._conn.close()

    async def _run(self) -> None:
        mine = await self._conn.fetchval("SELECT pg_backend_pid()")
        while True:
            rows = await self._conn.fetch(
                "SELECT a.state, a.wait_event_type, a.wait_event,"
                " (SELECT l.classid::int FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted"
                "   AND l.locktype = 'advisory' LIMIT 1) AS advisory"
                " FROM pg_stat_activity a"
                " WHERE a.datname = current_database() AND a.pid <> $1"
                " AND a.backend_type = 'client backend'",
                mine,
            )
            for r in rows:
                if r["state"] == "idle":
                    key = "idle (no transaction)"
                elif r["state"] == "idle in transaction":
                    key = "idle in transaction (waiting for the client)"
                elif r["wait_event_type"] in ("Lock", "LWLock", "IO", "IPC"):
                    key = f"waiting: {r['wait_event_type']}/{r['wait_event']}"
                    if r["advisory"] is not None:
                        key += f" ({self.advisory.get(r['advisory'], r['advisory'])})"
                elif r["wait_event_type"] == "Client":
                    key = f"active, {r['wait_event']}"
                else:
                    key = "running a statement"
                self.counts[key] = self.counts.get(key, 0) + 1
            await asyncio.sleep(self.interval)

    def shares(self) -> list[tuple[str, float]]:
        busy = {k: v for k, v in self.counts.items() if not k.startswith("idle (no")}
        total = sum(busy.values()) or 1
        return sorted(((k, v / total) for k, v in busy.items()), key=lambda kv: -kv[1])

    def lines(self, top: int = 4) -> list[str]:
        return [f"    {share:5.0%}  {key}" for key, share in self.shares()[:top]]


DISTURBED = 0.5
"""Cores of other load during a phase past which its figures are measured again. What is
"unaccounted" also includes the kernel's own work for loopback traffic (a tenth to a
quarter of a core at these packet rates), so the bar is not lower."""


def _disturbance(result: dict) -> float:
    return others(result["cpu"]) if "cpu" in result else 0.0


PATIENCE = {"quiet": 300.0, "retries": 3}
"""How long a phase waits for a quiet machine, and how often a disturbed phase is measured
again (a benchmark's `--patience`/`--retries` may lower them on a machine that is never
quiet; the figures then say how disturbed they were)."""


def undisturbed(measure, retries: int | None = None, label: str = "") -> dict:
    """Run `measure()` (which returns a dict with a CpuMeter usage under "cpu") once the
    machine is quiet; again, up to `retries` times, while another job kept more than
    DISTURBED cores busy meanwhile. The result says how much under "disturbed"."""
    retries = PATIENCE["retries"] if retries is None else retries
    for attempt in range(retries + 1):
        wait_for_quiet(limit=PATIENCE["quiet"])
        result = measure()
        result["disturbed"] = extra = _disturbance(result)
        if extra <= DISTURBED or attempt == retries:
            return result
        print(
            f"    ({label or 'phase'}: other load kept {extra:.2f} cores busy; measuring again)",
            flush=True,
        )
    raise AssertionError("unreachable")


async def undisturbed_async(measure, retries: int | None = None, label: str = "") -> dict:
    """undisturbed() for a coroutine factory, inside a running event loop."""
    retries = PATIENCE["retries"] if retries is None else retries
    for attempt in range(retries + 1):
        await asyncio.to_thread(wait_for_quiet, PATIENCE["quiet"])
        result = await measure()
        result["disturbed"] = extra = _disturbance(result)
        if extra <= DISTURBED or attempt == retries:
            return result
        print(
            f"    ({label or 'phase'}: other load kept {extra:.2f} cores busy; measuring again)",
            flush=True,
        )
    raise AssertionError("unreachable")

"""The deployment kit in deploy/ run as local processes: no Docker engine runs here, so
`Topology` reads deploy/docker-compose.yml and starts its services the way Compose would
(the image's entrypoint, each service's command and environment, deploy/.env.example as
the `.env`), with what only a Docker host has replaced by local things: the test
PostgreSQL for the `postgres` service, the local Redis for `redis`, free local ports for
the containers' own addresses, and /usr/sbin/nginx running deploy/nginx.conf for `proxy`.

Only what a container network makes differ is changed, and each change must find its
target (a renamed service or a moved line fails here, not silently).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import yaml
from conftest import (
    REDIS_URL,
    ROOT,
    SECRET_KEY,
    ServerProcess,
    cli_env,
    create_database,
    wait_for,
)
from net_kit import free_port

DEPLOY = ROOT / "deploy"
NGINX = "/usr/sbin/nginx"
SERVICES = {"postgres", "redis", "migrate", "web1", "web2", "worker", "proxy"}
WEB = ("web1", "web2")
TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
"""nginx's temporary directories (compiled in as system paths; here under the test's)."""


def compose_file() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as Compose reads an env file (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def entrypoint() -> list[str]:
    """The image's ENTRYPOINT, from the Dockerfile."""
    found = re.findall(r"^ENTRYPOINT\s+(\[.*\])\s*$", (ROOT / "Dockerfile").read_text(), re.M)
    assert len(found) == 1, "the Dockerfile has one exec-form ENTRYPOINT"
    return json.loads(found[0])


def image_env() -> dict[str, str]:
    """The ENV the Dockerfile gives every container (`KEY=value` pairs)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found = re.findall(r"^ENV\s+(.*)$", text, re.M)
    return dict(pair.split("=", 1) for line in found for pair in line.split())


def service_env(service: dict[str, Any], env_file: dict[str, str]) -> dict[str, str]:
    """What Compose hands the container: the image's ENV, its env_file, its `environment`."""
    files = service.get("env_file") or []
    files = [files] if isinstance(files, str) else files
    assert files == [".env"], f"the Convodesk services read deploy/.env, not {files}"
    env = {**image_env(), **env_file}
    env.update({key: str(value) for key, value in (service.get("environment") or {}).items()})
    return env


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def with_option(argv: list[str], name: str, value: str) -> list[str]:
    """`argv` with the value after `name` replaced (the option must be there)."""
    i = argv.index(name)
    return [*argv[: i + 1], value, *argv[i + 2 :]]


def render_nginx(conf: str, listen: int, upstreams: dict[str, int], tmp: Path) -> str:
    """deploy/nginx.conf for this machine: listening on 127.0.0.1:`listen`, each
    `server <service>:<container port>` of the upstream pointed at its local port, and
    nginx's temporary files in `tmp`."""

    def once(text: str, old: str, new: str) -> str:
        assert text.count(old) == 1, f"deploy/nginx.conf has {old!r} once"
        return text.replace(old, new)

    conf = once(conf, "listen 80;", f"listen 127.0.0.1:{listen};")
    for target, port in upstreams.items():
        conf = once(conf, f"server {target} ", f"server 127.0.0.1:{port} ")
    temp = "".join(f"\n    {kind}_temp_path {tmp / kind};" for kind in TEMP_KINDS)
    return once(conf, "http {", "http {" + temp)


class Topology:
    """deploy/docker-compose.yml's services as processes: `migrate` run to its end, then
    the web services, the worker and nginx. `extra_env` is what every Convodesk process
    gets on top (a provider stand-in's address)."""

    def __init__(self, extra_env: dict[str, str]) -> None:
        self.compose = compose_file()
        assert set(self.compose["services"]) == SERVICES
        assert entrypoint() == ["convodesk"]
        self.services = self.compose["services"]
        self.tmp = Path(tempfile.mkdtemp(prefix="convodesk-deploy-"))
        self.db_url = create_database("convodesk_deploy")  # empty: `migrate` fills it
        self.proxy_port = free_port()
        self.url = f"http://127.0.0.1:{self.proxy_port}"
        self.extra_env = extra_env
        self.env_file = self._local(dotenv(DEPLOY / ".env.example"))
        self.web: dict[str, ServerProcess] = {}
        self.worker: ServerProcess | None = None
        self.nginx: subprocess.Popen | None = None
        self.nginx_log = self.tmp / "error.log"

    def _local(self, example: dict[str, str]) -> dict[str, str]:
        """The example's values, with the addresses of the Docker network made local (the
        Redis the test suite uses, keeping the example's database number)."""
        redis = urlsplit(example["CONVODESK_REDIS_URL"])
        assert redis.hostname == "redis", "the example points at the compose file's Redis"
        local = {
            "DATABASE_URL": self.db_url,
            "CONVODESK_SECRET_KEY": SECRET_KEY,
            "CONVODESK_PUBLIC_URL": self.url,
            "CONVODESK_REDIS_URL": urlunsplit(redis._replace(netloc=urlsplit(REDIS_URL).netloc)),
        }
        missing = set(local) - set(example)
        assert not missing, f"deploy/.env.example lacks {missing}"
        return {**example, **local}

    def env(self, name: str) -> dict[str, str]:
        """A service's environment on this machine. The base is what every test process
        gets (providers pointed nowhere, fast password hashing), without its choice of
        bus: the deployment's own settings choose that."""
        base = cli_env(CONVODESK_EVENT_BUS=None)
        env = {**base, **service_env(self.services[name], self.env_file), **self.extra_env}
        env["CONVODESK_DATA_DIR"] = str(self._volume(name, env["CONVODESK_DATA_DIR"]))
        return env

    def _volume(self, name: str, path: str) -> Path:
        """The local directory standing for the named volume the service mounts at
        `path`: one per volume, so the processes share it as the containers do."""
        mounts = dict(
            reversed(spec.split(":", 1)) for spec in self.services[name].get("volumes", [])
        )
        assert path in mounts, f"{name} keeps its data directory {path} on a volume"
        assert mounts[path] in self.compose["volumes"], "a named volume, shared by name"
        local = self.tmp / "volumes" / mounts[path]
        local.mkdir(parents=True, exist_ok=True)
        return local

    def argv(self, name: str) -> list[str]:
        """A service's command line after the entrypoint (`python -m app` is `convodesk`)."""
        return list(self.services[name]["command"])

    def run_cli(self, *args: str) -> subprocess.CompletedProcess:
        """A one-off `convodesk` command, as `docker compose run` would give it: with the
        migrate service's environment."""
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=ROOT,
            env=self.env("migrate"),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self) -> Topology:
        done = self.run_cli(*self.argv("migrate"))
        assert done.returncode == 0, done.stdout + done.stderr
        upstreams = {}
        for name in WEB:
            argv = self.argv(name)
            assert argv[0] == "serve", argv
            port = free_port()
            upstreams[f"{name}:{option(argv, '--port')}"] = port
            # each container has its own network: here each gets its own ports
            argv = with_option(with_option(argv, "--host", "127.0.0.1"), "--port", str(port))
            self.web[name] = ServerProcess(self.env(name), port=port, argv=tuple(argv))
        assert self.argv("worker") == ["worker"]
        self.worker = ServerProcess(self.env("worker"), argv=("worker",))
        for web in self.web.values():
            web.wait_ready()
        wait_for(lambda: self._running(self.worker), timeout=60, interval=0.2)
        self._start_nginx(upstreams)
        return self

    def _running(self, worker: ServerProcess) -> bool:
        if worker.proc.poll() is not None:
            raise AssertionError(f"the worker exited:\n{worker.output()}")
        return "workers are running" in worker.output()

    def _start_nginx(self, upstreams: dict[str, int]) -> None:
        conf = render_nginx(
            (DEPLOY / "nginx.conf").read_text(), self.proxy_port, upstreams, self.tmp
        )
        path = self.tmp / "nginx.conf"
        path.write_text(conf)
        # nginx's workers run as nobody: they write bodies and buffers under tmp
        self.tmp.chmod(0o755)
        for kind in TEMP_KINDS:
            (self.tmp / kind).mkdir(mode=0o777)
            (self.tmp / kind).chmod(0o777)
        self.nginx = subprocess.Popen(
            [NGINX, "-p", str(self.tmp), "-c", str(path), "-e", str(self.nginx_log)]
            + ["-g", f"daemon off; pid {self.tmp / 'nginx.pid'};"],
            stdout=subprocess.DEVNULL,
            stderr=self.nginx_log.open("a"),
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.nginx.poll() is not None:
                raise AssertionError(f"nginx exited:\n{self.nginx_log.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"nginx did not answer:\n{self.nginx_log.read_text()}")

    def healthcheck(self, name: str) -> subprocess.CompletedProcess:
        """The service's Compose healthcheck, run against its local port."""
        test = self.services[name]["healthcheck"]["test"]
        assert test[:2] == ["CMD", "python"], test
        port = option(self.argv(name), "--port")
        argv = [a.replace(f":{port}/", f":{self.web[name].port}/") for a in test[2:]]
        return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=30)

    def stop(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(20)
        for proc in [*self.web.values(), self.worker]:
            if proc is not None:
                proc.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def logs(self) -> str:
        """Every process's output, for a failing assertion's message."""
        parts = [f"--- {name}\n{web.output()}" for name, web in self.web.items()]
        if self.worker is not None:
            parts.append(f"--- worker\n{self.worker.output()}")
        if self.nginx_log.exists():
            parts.append(f"--- nginx\n{self.nginx_log.read_text()}")
        return "\n".join(parts)

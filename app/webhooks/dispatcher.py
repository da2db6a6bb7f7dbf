"""The webhook dispatcher: makes deliveries from new events, sends them signed, records
every attempt (webhooks.queue holds the rules; this holds the HTTP).

An attempt succeeds on a 2xx within 5 s. Redirects are not followed (a 3xx is a
failure), `Retry-After` is passed on to the schedule, 410 disables the endpoint. Unless
private targets are allowed, each attempt resolves the host, refuses private addresses and
connects to the address it checked (webhook_targets).

Attempts run concurrently (`webhook_concurrency`, with `webhook_endpoint_concurrency` per
endpoint); their results are written in batches, one transaction per batch, which is what
lets one dispatcher keep up with thousands of deliveries a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx
import msgspec

from app.core.events import encode_body
from app.domain.retry import retry_after
from app.domain.timefmt import now
from app.settings import Settings
from app.webhooks import queue as webhook_queue
from app.webhooks import targets as webhook_targets
from app.webhooks.queue import Job, Outcome
from app.webhooks.signature import header as signature_header

log = logging.getLogger(__name__)

TIMEOUT = 5.0
"""An endpoint has this long to answer, in all (connect, send, response headers)."""
RESPONSE_KEPT = 1024
"""How much of a response body the attempt log keeps."""
USER_AGENT = "Convodesk-Webhooks/1.0"


class Connections:
    """Kept-alive connections by origin, each in an httpx client of its own.

    Why not one client: httpcore's pool looks at every connection it holds, for every
    request and every release (quadratic in its size). With 32 connections to one busy
    endpoint that tripled the CPU a delivery costs (bench/webhook_dispatch.py); a client
    holding one connection keeps that bookkeeping constant."""

    IDLE_FOR = 30.0
    """An idle connection unused this long is closed."""

    def __init__(self, per_origin: int) -> None:
        self.per_origin = per_origin
        self.idle: dict[tuple, list[tuple[float, httpx.AsyncClient]]] = {}

    def take(self, origin: tuple) -> httpx.AsyncClient:
        idle = self.idle.get(origin)
        if idle:
            return idle.pop()[1]
        return httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(TIMEOUT),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            headers={"user-agent": USER_AGENT},
            trust_env=False,
        )

    async def give_back(self, origin: tuple, client: httpx.AsyncClient, reusable: bool) -> None:
        idle = self.idle.setdefault(origin, [])
        if reusable and len(idle) < self.per_origin:
            idle.append((time.monotonic(), client))
        else:
            await client.aclose()

    async def close_idle(self, older_than: float | None = None) -> None:
        limit = time.monotonic() - (self.IDLE_FOR if older_than is None else older_than)
        for origin in list(self.idle):
            keep = [(t, c) for t, c in self.idle[origin] if t >= limit]
            for t, client in self.idle[origin]:
                if t < limit:
                    await client.aclose()
            if keep:
                self.idle[origin] = keep
            else:
                del self.idle[origin]


class Dispatcher:
    def __init__(self, settings: Settings, wake: asyncio.Event) -> None:
        self.settings = settings
        self.wake = wake
        self.running: set[asyncio.Task] = set()
        self.slot_free = asyncio.Event()
        self.results: list[Outcome] = []
        self.results_ready = asyncio.Event()
        self.connections = Connections(settings.webhook_endpoint_concurrency)

    # --- one attempt --------------------------------------------------------------------

    async def _target(self, uri: str) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
        """Where to connect: the URI itself, or (private targets refused) the public
        address its host resolved to, with the name kept for Host and TLS."""
        url = httpx.URL(uri)
        if self.settings.allow_private_webhooks:
            return url, {}, {}
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        address = await webhook_targets.public_address(host, port)
        if address == host:
            return url, {}, {}
        return url.copy_with(host=address), {"host": url.netloc.decode()}, {"sni_hostname": host}

    async def attempt(self, job: Job) -> Outcome:
        body = encode_body(
            job.event_id, job.event_type, job.event_time, msgspec.Raw(job.payload.encode())
        )
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": str(job.event_id),
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(job.secrets, str(job.event_id), timestamp, body),
        }
        started = time.perf_counter()

        def outcome(code: int | None, error: str = "", **extra) -> Outcome:
            latency = round((time.perf_counter() - started) * 1000)
            return Outcome(job, code, latency, error, at=now(), **extra)

        try:
            url, more_headers, extensions = await self._target(job.uri)
        except webhook_targets.RefusedTarget as exc:
            return outcome(None, f"Refused: {exc}.")
        except ValueError as exc:
            return outcome(None, f"Invalid URL: {exc}.")
        origin = (url.scheme, url.host, url.port, extensions.get("sni_hostname"))
        client = self.connections.take(origin)
        reusable = False
        try:
            async with asyncio.timeout(TIMEOUT):
                request = client.build_request(
                    job.method,
                    url,
                    content=body,
                    headers={**headers, **more_headers},
                    extensions=extensions,
                )
                response = await client.send(request, stream=True)
                try:
                    kept = b""
                    async for chunk in response.aiter_raw():
                        kept += chunk
                        if len(kept) >= RESPONSE_KEPT:
                            break
                    else:
                        reusable = True  # read to the end: the connection can go again
                finally:
                    await response.aclose()
        except TimeoutError:
            return outcome(None, f"No answer within {TIMEOUT:g} s.")
        except httpx.HTTPError as exc:
            return outcome(None, f"{type(exc).__name__}: {exc}".rstrip(": "))
        except OSError as exc:
            return outcome(None, f"{type(exc).__name__}: {exc}")
        finally:
            await self.connections.give_back(origin, client, reusable)
        text = kept[:RESPONSE_KEPT].decode("utf-8", "replace")
        code = response.status_code
        if 200 <= code < 300:
            return outcome(code, response=text)
        if 300 <= code < 400:
            where = response.headers.get("location", "")
            error = f"HTTP {code}: redirects are not followed (to {where or 'nowhere'})."
        elif code == 410:
            error = "HTTP 410 Gone: the endpoint is disabled."
        else:
            error = f"HTTP {code} {response.reason_phrase}".strip()
        return outcome(
            code,
            error,
            response=text,
            retry_after=retry_after(response.headers.get("retry-after")),
        )

    async def _deliver(self, job: Job) -> None:
        try:
            result = await self.attempt(job)
        except Exception as exc:  # noqa: BLE001 - a bug in one attempt must not stop the rest
            log.exception("webhook delivery %s failed", job.id)
            result = Outcome(job, None, 0, f"internal error: {type(exc).__name__}", at=now())
        self.results.append(result)
        self.results_ready.set()

    # --- the loops ----------------------------------------------------------------------

    async def _record_loop(self) -> None:
        """Writes results in batches: whatever finished while the last batch was written."""
        while True:
            await self.results_ready.wait()
            self.results_ready.clear()
            batch, self.results = self.results, []
            try:
                await webhook_queue.record(batch)
            except Exception:  # noqa: BLE001 - the database may be briefly away
                log.exception("could not record %d webhook attempts; retrying", len(batch))
                self.results = batch + self.results
                await asyncio.sleep(0.5)
                self.results_ready.set()
                continue
            # recorded, those endpoints have room again (claims count what is `sending`)
            self.wake.set()

    def _finished(self, task: asyncio.Task) -> None:
        self.running.discard(task)
        self.slot_free.set()

    async def _step(self) -> bool:
        """Make deliveries, then start as many due ones as there is room for; True when
        there may be more work at once."""
        seen = await webhook_queue.fan_out()
        free = self.settings.webhook_concurrency - len(self.running)
        jobs = await webhook_queue.claim_due(
            free, self.settings.webhook_endpoint_concurrency, self.settings.webhook_lease_seconds
        )
        for job in jobs:
            task = asyncio.create_task(self._deliver(job))
            self.running.add(task)
            task.add_done_callback(self._finished)
        return seen >= 1000 or (free > 0 and len(jobs) == free)

    async def run(self, poll: float = 0.5, reclaim_every: float = 1.0) -> None:
        recorder = asyncio.create_task(self._record_loop(), name="webhook-recorder")
        last_reclaim = 0.0
        try:
            while True:
                if time.monotonic() - last_reclaim > reclaim_every:
                    last_reclaim = time.monotonic()
                    try:
                        await webhook_queue.reclaim_expired()
                    except Exception:  # noqa: BLE001 - next round
                        log.exception("could not take back expired webhook leases")
                    await self.connections.close_idle()
                self.wake.clear()
                try:
                    more = await self._step()
                except Exception:  # noqa: BLE001 - the database may be briefly away
                    log.exception("webhook dispatcher step failed")
                    await asyncio.sleep(poll)
                    continue
                if len(self.running) >= self.settings.webhook_concurrency:
                    self.slot_free.clear()
                    await self.slot_free.wait()
                    continue
                if more:
                    continue
                # nothing more for now: wait for news of events, or poll for retries due
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll):
                        await self.wake.wait()
        finally:
            for task in self.running:
                task.cancel()
            await asyncio.gather(*self.running, return_exceptions=True)
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
            # what finished is written; what was cut off is tried again after its lease
            with contextlib.suppress(Exception):
                await webhook_queue.record(self.results)
            await self.connections.close_idle(older_than=-1)


async def run(settings: Settings, wake: asyncio.Event) -> None:
    await Dispatcher(settings, wake).run()

"""The order pytest-xdist hands out test modules: the longest first.

`--dist loadscope` keeps each module in one worker (its servers start once) and gives the
modules out in collection order, so a long module collected last keeps one worker busy
after the others are done. This plugin collects modules longest first: by the time each
took in the last run (kept in pytest's cache), or, with no record yet, by an estimate from
the module itself (tests, plus the processes and browser pages it starts).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

KEY = "convodesk/module_seconds"
SECONDS_PER_TEST = 0.3
SECONDS_PER_START = {
    "ServerProcess(": 3.0,  # a server process
    "Worker(": 3.0,
    "Popen(": 3.0,
    "run_cli(": 1.0,  # a CLI command
    "Topology(": 30.0,  # deploy/'s topology: migrate, two servers, a worker, nginx
    "own_database(": 1.0,
    "new_page(": 2.0,  # a browser page, signed in
    "DATABASE_URL=None": 30.0,  # an embedded PostgreSQL, made from nothing
    "schemathesis.cli": 40.0,  # the schema fuzz
}
STARTS = re.compile("|".join(re.escape(s) for s in SECONDS_PER_START))


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def estimate(path: Path, tests: int) -> float:
    try:
        starts = STARTS.findall(path.read_text())
    except OSError:
        starts = []
    return tests * SECONDS_PER_TEST + sum(SECONDS_PER_START[s] for s in starts)


class RunOrder:
    def __init__(self, config: pytest.Config) -> None:
        self.cache = getattr(config, "cache", None)  # None with -p no:cacheprovider
        self.took: dict[str, float] = defaultdict(float)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # every worker must come to the same order: it depends only on the cache (read
        # before any worker runs a test) and the modules' files
        known = self.cache.get(KEY, {}) if self.cache else {}
        modules: dict[str, list[pytest.Item]] = defaultdict(list)
        for item in items:
            modules[module_of(item.nodeid)].append(item)

        def seconds(module: str) -> float:
            found = modules[module]
            return known.get(module) or estimate(Path(found[0].path), len(found))

        ordered = sorted(modules, key=lambda m: (-seconds(m), m))
        items[:] = [item for module in ordered for item in modules[module]]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.took[module_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.cache is None or hasattr(session.config, "workerinput"):
            return  # the controller (or a run without workers) keeps the record
        self.cache.set(KEY, {**self.cache.get(KEY, {}), **self.took})

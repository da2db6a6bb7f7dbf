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
STARTS = re.compile(r"ServerProcess\(|Worker\(|Popen\(|run_cli\(|new_page\(|own_database\(")
SECONDS_PER_TEST, SECONDS_PER_START = 0.3, 3.0


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def estimate(path: Path, tests: int) -> float:
    try:
        starts = len(STARTS.findall(path.read_text()))
    except OSError:
        starts = 0
    return tests * SECONDS_PER_TEST + starts * SECONDS_PER_START


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

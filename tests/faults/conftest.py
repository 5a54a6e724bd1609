"""One fault stack for every fault test of the session: starting 3 brokers, Redis,
PostgreSQL and the services costs about a minute on 2 cores, so it is done once. Each test
leaves it healthy again (its fault restarted what it broke), or the next test says so."""

from __future__ import annotations

import shutil
from collections.abc import Generator, Iterator

import pytest

from tests.faults.record import RECORDS
from tests.faults.stack import FaultStack, fault_stack
from tests.random_refs import suffix


def pytest_configure(config: pytest.Config) -> None:
    # Also in pyproject.toml; registered here too, so tests/faults runs on its own.
    config.addinivalue_line(
        "markers", "faults: injects crashes and restarts into a stack of its own (make faults)"
    )


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[FaultStack]:
    run_dir = RECORDS / f"stack-{suffix()}"
    failed_before = request.session.testsfailed
    print(f"\nfault stack under {run_dir} (logs in {run_dir / 'logs'})")
    try:
        with fault_stack(run_dir) as started:
            yield started
    except BaseException:
        print(f"the fault stack failed: its logs are in {run_dir / 'logs'}")
        raise
    if request.session.testsfailed > failed_before:
        print(f"fault tests failed: the stack's logs are kept in {run_dir / 'logs'}")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def say_where_the_logs_are(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and "stack" in request.fixturenames:
        run_dir = request.getfixturevalue("stack").run_dir
        print(f"{request.node.name} failed: the stack's logs are in {run_dir / 'logs'}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report

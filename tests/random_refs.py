"""Random ids per test, so tests never see each other's rows, keys or messages."""

from __future__ import annotations

import uuid


def suffix() -> str:
    return uuid.uuid4().hex[:10]


RUN = uuid.uuid4().hex[:6]
# Every sale, topic and consumer group of this test run starts with one of these: the
# run's cleanup (tests/cleanup.py) finds them all, whatever became of the test that made
# them.
RUN_SALE_PREFIX = f"t{RUN}-"
RUN_TOPIC_PREFIX = f"test.{RUN}."
RUN_GROUP_PREFIX = f"test-{RUN}-"


def random_sale_id(name: str = "") -> str:
    return f"{RUN_SALE_PREFIX}{name}-{suffix()}" if name else f"{RUN_SALE_PREFIX}{suffix()}"


def random_user_id(name: str = "") -> str:
    return f"user-{name}-{suffix()}" if name else f"user-{suffix()}"


def random_topic(name: str = "t") -> str:
    return f"{RUN_TOPIC_PREFIX}{name}.{suffix()}"


def random_group(name: str = "g") -> str:
    return f"{RUN_GROUP_PREFIX}{name}-{suffix()}"

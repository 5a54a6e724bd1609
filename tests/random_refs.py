"""Random ids per test, so tests never see each other's rows, keys or messages."""

from __future__ import annotations

import uuid


def suffix() -> str:
    return uuid.uuid4().hex[:10]


def random_sale_id(name: str = "") -> str:
    return f"sale-{name}-{suffix()}" if name else f"sale-{suffix()}"


def random_user_id(name: str = "") -> str:
    return f"user-{name}-{suffix()}" if name else f"user-{suffix()}"


def random_topic(name: str = "t") -> str:
    return f"test.{name}.{suffix()}"


def random_group(name: str = "g") -> str:
    return f"test-{name}-{suffix()}"

"""Notification channels: adapters behind one small interface. A channel raises on failure;
the handler retries with backoff and dead-letters after the last attempt."""

from __future__ import annotations

from typing import Protocol

from notification_consumer.messages import Notice

__all__ = ["Channel"]


class Channel(Protocol):
    def send(self, notice: Notice) -> None: ...

    def close(self) -> None: ...

"""SMS and push through a webhook: an HTTP POST of the notice to a configured URL. The
receiver (an SMS gateway, a push service) dedups on the Idempotency-Key header."""

from __future__ import annotations

import httpx

from notification_consumer.notices import Notice

__all__ = ["WebhookChannel"]


class WebhookChannel:
    def __init__(self, url: str, channel: str, timeout_s: float = 5.0) -> None:
        self._url = url
        self._channel = channel
        self._client = httpx.Client(timeout=timeout_s)

    def send(self, notice: Notice) -> None:
        response = self._client.post(
            self._url,
            json={
                "channel": self._channel,
                "order_id": str(notice.order_id),
                "kind": notice.kind,
                "recipient": notice.recipient,
                "subject": notice.subject,
                "body": notice.body,
            },
            headers={"Idempotency-Key": f"{notice.order_id}:{notice.kind}"},
        )
        response.raise_for_status()  # any non-2xx is a failed send: retried, then DLQ

    def close(self) -> None:
        self._client.close()

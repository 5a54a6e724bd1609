"""The channels against real servers: SMTP (aiosmtpd) and the webhook (a local HTTP server)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from notification_consumer.adapters.smtp import SmtpChannel
from notification_consumer.adapters.webhook import WebhookChannel
from notification_consumer.notices import Notice
from tests.fulfilment_helpers import SmtpSink

pytestmark = pytest.mark.integration


def _notice(channel: str, recipient: str) -> Notice:
    return Notice(uuid.uuid4(), "order_paid", channel, recipient, "Order paid", "Thank you.")


class Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, Any], str | None]] = []
    status = 204

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Hook.received.append((body, self.headers.get("Idempotency-Key")))
        self.send_response(Hook.status)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Hook.received, Hook.status = [], 204
    yield f"http://127.0.0.1:{server.server_address[1]}/notify"
    server.shutdown()
    server.server_close()


def test_the_webhook_posts_the_notice_with_an_idempotency_key(hook_url: str) -> None:
    channel = WebhookChannel(hook_url, "sms")
    notice = _notice("sms", "user-7")
    channel.send(notice)
    [(body, key)] = Hook.received
    assert body["channel"] == "sms"
    assert (body["order_id"], body["kind"], body["recipient"]) == (
        str(notice.order_id),
        "order_paid",
        "user-7",
    )
    assert key == f"{notice.order_id}:order_paid"
    Hook.status = 500  # a failing receiver is a failed send: the handler retries it
    with pytest.raises(httpx.HTTPStatusError):
        channel.send(notice)
    channel.close()


def test_smtp_delivers_a_real_mail_and_reconnects_after_the_server_restarts() -> None:
    with SmtpSink() as smtp:
        channel = SmtpChannel("127.0.0.1", smtp.port, "shop@flashsale.test")
        channel.send(_notice("email", "erin@shop.test"))
        [mail] = smtp.received()
        assert (mail["To"], mail["From"], mail["Subject"]) == (
            "erin@shop.test",
            "shop@flashsale.test",
            "Order paid",
        )
        assert mail.get_content().strip() == "Thank you."
        channel.close()
        channel.send(_notice("email", "finn@shop.test"))  # a fresh connection after close
        assert [m["To"] for m in smtp.received()] == ["erin@shop.test", "finn@shop.test"]
        channel.close()

"""Email over real SMTP (smtplib): Mailpit in compose, aiosmtpd in tests, a relay in prod."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from notification_consumer.notices import Notice

__all__ = ["SmtpChannel", "message_id"]


def message_id(notice: Notice) -> str:
    # Deterministic: should a crash force a resend, the receiver sees the same Message-ID.
    return f"<{notice.order_id}.{notice.kind}@flashsale>"


class SmtpChannel:
    def __init__(self, host: str, port: int, sender: str, timeout_s: float = 10.0) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._timeout_s = timeout_s
        self._smtp: smtplib.SMTP | None = None  # kept open: one handshake per batch, not per mail

    def send(self, notice: Notice) -> None:
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = notice.recipient
        mail["Subject"] = notice.subject
        mail["Message-ID"] = message_id(notice)
        mail.set_content(notice.body)
        try:
            self._connection().send_message(mail)
        except (smtplib.SMTPException, OSError):
            self.close()  # the next attempt reconnects
            raise

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout_s)
        return self._smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

"""The notification consumer's I/O, each behind a port of ports.py: the notifications table
(sql.py), email over SMTP (smtp.py), SMS and push over a webhook (webhook.py)."""

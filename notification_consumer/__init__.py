"""Layer 4, the notification consumer: reads the order events in a group of its own and sends
one email, SMS or push per order and kind, the notifications table guarding against resends."""

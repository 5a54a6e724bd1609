"""Layer 2: the atomic Redis pre-deduction, and an order token only after Kafka's ack."""

"""Layer 4: notification consumer (an idempotent Kafka consumer)."""

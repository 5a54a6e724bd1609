"""Layer 4: inventory consumer (an idempotent Kafka consumer)."""

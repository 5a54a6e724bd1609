"""Layer 1: token-bucket rate limiting and the waiting room, in front of the order service."""

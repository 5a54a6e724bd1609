"""The shared kernel: contracts, topics, settings, Kafka factories and the DB schema.

Services import this package and never each other.
"""

"""`flashsale demo`: one flash sale through a running system, and what each layer did.

A sale is created through the admin API, a burst of buyers (more attempts than units,
some users twice) goes through the gateway, and the pipeline is watched while it drains:
the inventory group's Kafka lag, then the orders in PostgreSQL. What the clients were
answered is counted on the client; everything about orders is read back from PostgreSQL
and Kafka, then `flashsale check` runs on the sale.
"""

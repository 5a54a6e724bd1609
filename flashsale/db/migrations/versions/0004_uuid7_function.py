"""`flashsale_uuid7()`: UUIDv7 ids minted inside PostgreSQL, as flashsale/ids.py mints them.

The inventory consumer writes an order's OrderCreated outbox row in the statement that
inserts the order (inventory_consumer/adapters/sql.py), so the event's id is minted
there. Time-ordered, like every id the services mint: the outbox's unique index on
event_id grows at its right edge. A v4 from gen_random_uuid() with its first 48 bits
replaced by the Unix milliseconds and its version nibble turned from 4 (0100) into 7
(0111); the variant bits stay. PostgreSQL has uuidv7() only from 18.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION flashsale_uuid7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
          SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
            substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
              FROM 3)
            FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION flashsale_uuid7()")

"""Writing a sale row: the one INSERT that the admin API, the tests and the benches share."""

from __future__ import annotations

from sqlalchemy import Connection, text

from flashsale.contracts import CreateSale

__all__ = ["insert_sale"]

INSERT_SALE = text(
    "INSERT INTO sales (sale_id, name, total_stock, remaining_stock, starts_at, ends_at, per_user_limit)"
    " VALUES (:sale_id, :name, :stock, :stock, :starts_at, :ends_at, :per_user_limit)"
    " ON CONFLICT (sale_id) DO NOTHING RETURNING sale_id"
)


def insert_sale(conn: Connection, sale: CreateSale) -> bool:
    """Insert the sale with all its stock remaining; False when the id already existed."""
    params = sale.model_dump(
        include={"sale_id", "name", "stock", "starts_at", "ends_at", "per_user_limit"}
    )
    return conn.execute(INSERT_SALE, params).first() is not None

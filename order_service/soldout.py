"""The local sold-out flag per sale: once a sale is sold out, answering costs no Redis call.

Two refreshers, so a flag is never stale for long:
- the `flashsale:stock` channel (followed by adapters/stock_channel.py): "soldout S"
  (stock reached 0 in any replica) raises the flag, "release S" (a void, a failed or
  expired order released stock) drops it at once;
- a short TTL: a flag nobody refreshed expires and the next request asks Redis again,
  which covers a pub/sub message lost while the subscription was reconnecting.
"""

from __future__ import annotations

from flashsale.asgi import SoldOutFlags

__all__ = ["StockChannelFlags"]


class StockChannelFlags(SoldOutFlags):
    """The kernel's TTL flags, also driven by the `flashsale:stock` pub/sub channel."""

    def apply(self, message: str) -> None:
        """Apply one `flashsale:stock` message; anything else is ignored."""
        kind, _, sale_id = message.partition(" ")
        if kind == "soldout" and sale_id:
            self.mark(sale_id)
        elif kind == "release" and sale_id:
            self.clear(sale_id)

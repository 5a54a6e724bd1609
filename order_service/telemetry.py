"""The order service's metric families, their labels bound once: an admission costs a dict
lookup and an `.inc()`, never a label lookup (the hot path of a flash sale)."""

from __future__ import annotations

from flashsale.metrics import Children, Instrument, Metrics, NullMetrics, bind
from order_service.domain import Outcome, Reservation

__all__ = ["OrderMetrics"]


class OrderMetrics:
    def __init__(self, metrics: Metrics | None = None) -> None:
        metrics = metrics or NullMetrics()
        self._outcomes = {
            outcome: bind(metrics, "flashsale_admission_total", outcome=outcome.value)
            for outcome in Outcome
        }
        # Only sales the reserve script knows get a stock figure, so the series are bounded
        # by the real sales this process saw; recovery forgets the ones it prunes.
        self._stock = Children(metrics, "flashsale_stock_remaining")

    @property
    def sold_out(self) -> Instrument:
        """For the sold-out shortcut (shortcuts.py): the one `.inc()` it may afford."""
        return self._outcomes[Outcome.SOLD_OUT]

    def admission(self, sale_id: str, reservation: Reservation) -> None:
        self._outcomes[reservation.outcome].inc()
        if reservation.stock_left is not None:
            self._stock.of(sale_id).set(reservation.stock_left)

    def forget_sale(self, sale_id: str) -> None:
        self._stock.forget(sale_id)

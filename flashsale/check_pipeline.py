"""Every check at once, from the settings: what `flashsale check`, `make demo` and the e2e
tests run at the end of a sale."""

from __future__ import annotations

import time

from redis import Redis

from flashsale.check import Report, check_database, check_outbox
from flashsale.check_dlq import check_dlq
from flashsale.check_redis import check_redis
from flashsale.db import make_engine
from flashsale.settings import InfraSettings

__all__ = ["check_pipeline"]


def check_pipeline(
    settings: InfraSettings,
    sale_id: str | None = None,
    pending_age_s: float = 60.0,
    outbox_age_s: float = 60.0,
) -> Report:
    engine = make_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    now_ms = int(time.time() * 1000)
    try:
        return Report(
            [
                *check_database(engine, sale_id),
                check_outbox(engine, outbox_age_s, sale_id),
                *check_redis(engine, redis, now_ms, pending_age_s, sale_id),
                check_dlq(engine, settings, settings.dlq_topic, sale_id),
            ]
        )
    finally:
        redis.close()
        engine.dispose()

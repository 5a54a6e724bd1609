"""UUIDv7: the RFC 9562 layout, time order, and the minting time read back."""

from __future__ import annotations

import time
import uuid

from flashsale.ids import minted_at_ms, uuid7


def test_the_layout_is_rfc_9562_version_7() -> None:
    id_ = uuid7()
    assert id_.version == 7
    assert id_.variant == uuid.RFC_4122
    assert uuid.UUID(str(id_)) == id_


def test_the_minting_time_reads_back() -> None:
    before = time.time_ns() // 1_000_000
    id_ = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= minted_at_ms(id_) <= after
    assert minted_at_ms(uuid7(1_700_000_000_123)) == 1_700_000_000_123


def test_ids_of_later_milliseconds_sort_later() -> None:
    ids = [uuid7(1_700_000_000_000 + ms) for ms in range(50)]
    assert sorted(ids) == ids
    assert sorted(str(i) for i in ids) == [str(i) for i in ids]  # as text too


def test_ids_of_one_millisecond_differ_in_their_74_random_bits() -> None:
    ids = {uuid7(1_700_000_000_000) for _ in range(1000)}
    assert len(ids) == 1000
    assert {i.int >> 80 for i in ids} == {1_700_000_000_000}

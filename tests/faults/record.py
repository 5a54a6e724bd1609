"""Each fault test's record: one printed line, and `.run/faults/<test>.json` with what was
offered, what the clients got, what PostgreSQL holds, and every violation."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from tests.faults.audit import Audit
from tests.faults.load import LoadResult
from tests.infra import ROOT

RECORDS = ROOT / ".run" / "faults"


@dataclass
class FaultRecord:
    test: str
    fault: str
    offered: int
    tokens: int
    orders: int
    found: int
    failed: int
    untokened: int
    violations: list[str]
    untokened_live: int  # live orders whose buyer got no 202 (answer lost, order kept)
    recovery_s: float | None  # fault's end -> admission's next 202, or -> lag drained
    drained_after_s: float | None
    answers: dict[str, int]  # every HTTP answer, retries included ("0": no answer)
    finals: dict[str, int]  # each attempt's last answer
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        recovery = "-" if self.recovery_s is None else f"{self.recovery_s:.1f} s"
        return (
            f"FAULT {self.fault}: offered {self.offered}, tokens {self.tokens}, orders "
            f"{self.orders}, FAILED {self.failed}, live without token {self.untokened_live}, "
            f"violations {len(self.violations)}, recovery {recovery}"
        )


def write_record(
    test: str,
    fault: str,
    load: LoadResult,
    audit: Audit,
    recovery_s: float | None,
    **extra: Any,
) -> FaultRecord:
    record = FaultRecord(
        test=test,
        fault=fault,
        offered=load.offered,
        tokens=audit.tokens,
        orders=audit.orders,
        found=audit.found,
        failed=audit.failed,
        untokened=audit.untokened,
        violations=audit.violations,
        untokened_live=len(audit.untokened_live),
        recovery_s=None if recovery_s is None else round(recovery_s, 2),
        drained_after_s=audit.drained_after_s and round(audit.drained_after_s, 2),
        answers={str(k): v for k, v in sorted(Counter(s for _, s in load.answers).items())},
        finals=dict(load.finals),
        extra={**extra, "untokened_live_examples": audit.untokened_live[:20]},
    )
    RECORDS.mkdir(parents=True, exist_ok=True)
    path = RECORDS / f"{test}.json"
    path.write_bytes(orjson.dumps(asdict(record), option=orjson.OPT_INDENT_2))
    print(f"\n{record.line()}  ({path})")
    return record

"""Which alerts go out individually, which are digested, which are skipped as already sent."""

from test_alert_messages import alert

from riskengine.alerting import plan_batch
from riskengine.model import SourceRecord


def rec(offset: int) -> SourceRecord:
    return SourceRecord("risk-alerts", 0, offset, 0, None, b"")


def test_already_sent_and_in_batch_duplicates_are_skipped() -> None:
    batch = [(rec(0), alert("a1")), (rec(1), alert("a2")), (rec(2), alert("a2"))]
    plan = plan_batch(batch, {"a1"}, {}, 20, "")
    assert [m.alert_ids for m in plan.messages] == [("a2",)]
    assert plan.already_sent == 2


def test_storm_beyond_limit_becomes_one_digest_per_pattern() -> None:
    batch = [(rec(i), alert(f"f{i}", patternType="FLASH_CRASH")) for i in range(30)]
    batch.append((rec(30), alert("w1")))
    plan = plan_batch(batch, set(), {}, 20, "")
    singles = [m for m in plan.messages if not m.is_digest]
    digests = [m for m in plan.messages if m.is_digest]
    assert len(singles) == 21
    assert len(digests) == 1
    assert digests[0].alert_ids == tuple(f"f{i}" for i in range(20, 30))
    assert [r.offset for r in digests[0].records] == list(range(20, 30))
    assert plan.digested == 10 and plan.digests == 1
    assert plan.individual_per_pattern == {"FLASH_CRASH": 20, "WASH_TRADING": 1}


def test_counts_of_earlier_batches_in_the_minute_reduce_the_allowance() -> None:
    batch = [(rec(i), alert(f"f{i}")) for i in range(5)]
    plan = plan_batch(batch, set(), {"WASH_TRADING": 18}, 20, "")
    assert sum(not m.is_digest for m in plan.messages) == 2
    assert plan.digested == 3


def test_limit_already_reached_digests_everything() -> None:
    batch = [(rec(i), alert(f"f{i}")) for i in range(3)]
    plan = plan_batch(batch, set(), {"WASH_TRADING": 25}, 20, "")
    assert len(plan.messages) == 1 and plan.messages[0].is_digest

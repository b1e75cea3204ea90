import json
from datetime import date, datetime, timedelta, timezone

import pytest

from core.audit import GENESIS_HASH, _as_stored, entry_hash
from whitelist.models import Category

AT = datetime(2026, 3, 14, 8, 0, tzinfo=timezone.utc)
ENTRY = dict(seq=1, at=AT, actor_id=1, actor_name="a", actor_role="admin", action="firm.approved",
             object_type="firm", object_id="1", changes={"status": ["pending", "approved"]},
             prev_hash=GENESIS_HASH)


def test_the_hash_is_stable_for_the_same_entry():
    assert entry_hash(**ENTRY) == entry_hash(**dict(ENTRY))


def test_changing_any_field_changes_the_hash():
    base = entry_hash(**ENTRY)
    for key, value in [("seq", 2), ("actor_id", 2), ("actor_name", "b"), ("action", "firm.suspended"),
                       ("object_id", "2"), ("changes", {"status": ["pending", "suspended"]}),
                       ("prev_hash", "1" * 64), ("at", AT.replace(microsecond=1))]:
        assert entry_hash(**{**ENTRY, key: value}) != base, key


def test_key_order_inside_changes_does_not_matter():
    a = entry_hash(**{**ENTRY, "changes": {"x": 1, "y": 2}})
    b = entry_hash(**{**ENTRY, "changes": {"y": 2, "x": 1}})
    assert a == b


@pytest.mark.parametrize("changes", [
    {"at": datetime(2026, 3, 14, 8, 1, tzinfo=timezone.utc), "state": "held", "seals_seen": ["A", "B"], "pass_id": 5},
    {"at": datetime(2026, 3, 14, 8, 1, 12, 123, tzinfo=timezone(timedelta(hours=8)))}, {"at": datetime(2026, 1, 1)},
    None, {}, {"x": 1.5}, {"x": {"a": 1}}, {"x": [1, "a"]}, {"x": "香港"}, {1: "a"}, {"b": True, "n": None},
    {"kind": Category.VEGETABLES}, {"seals": ["A"], "day": date(2026, 3, 14)}])
def test_the_stored_changes_are_what_a_json_round_trip_gives(changes):
    # _as_stored skips the round trip for plain values, datetimes and lists of strings: same result, same hash.
    expected = json.loads(json.dumps(changes or {}, default=str, ensure_ascii=False))
    stored = _as_stored(changes)
    assert stored == expected
    assert json.dumps(stored, sort_keys=True) == json.dumps(expected, sort_keys=True)

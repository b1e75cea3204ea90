from datetime import datetime, timezone

from core.audit import GENESIS_HASH, entry_hash

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

"""The yard's event path writes with Core (logistics/services.py: record_event, book_handover). Its effects are
pinned against what the ORM path wrote before it (EXPECTED below was recorded from that path, for the same
journey at the fixed test clock): the handover row, its events, their audit entries and the alert, for a full
journey with a step sent twice and a seal mismatch. The statements of one event are pinned too, so the path
cannot silently grow back (docs/performance.md, "Yard events")."""
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.sqlcount import statements
from checkpoints.models import Alert
from core import audit
from core.accounts import SYSTEM
from core.audit import AuditEntry, verify_chain
from core.db import transaction
from logistics.errors import EventNotAllowed
from logistics.models import Handover, HandoverEvent
from tests.api.logistics_helpers import build_relay

SEALS_SEEN_WRONG = ["HK2026001", "XX9999999"]


@pytest.fixture
def relay(session, areas, cipher, app, now):
    return build_relay(session, areas, cipher, app.extensions["keyring"], now)


def _journey(relay, now) -> int:
    """Booked with its outbound leg; arrived (sent twice with one client_event_id); seals wrong (held);
    seals re-checked; then every step to completed, with one refused step on the way."""
    minute = timedelta(minutes=1)
    handover = relay.book(now, outbound=True)
    relay.event(handover.id, "arrived", now + minute, client_event_id="station-1/1")
    relay.event(handover.id, "arrived", now + minute, client_event_id="station-1/1", now=now + 2 * minute)
    relay.event(handover.id, "seals_checked", now + 3 * minute, seals_seen=SEALS_SEEN_WRONG)
    relay.event(handover.id, "seals_checked", now + 4 * minute, client_event_id="station-1/2")
    with pytest.raises(EventNotAllowed):
        relay.event(handover.id, "completed", now + 5 * minute)
    for step, m in (("disinfected", 5), ("dropped", 6), ("inbound_departed", 7), ("collected", 20),
                    ("outbound_departed", 21), ("completed", 22)):
        relay.event(handover.id, step, now + m * minute)
    return handover.id


def _effects(session, relay, handover_id: int) -> dict:
    """What the journey left in the database, with the random pass ids replaced by the side they belong to and
    the ids of firms, people, vehicles and sites by their names in the relay (PostgreSQL's sequences are not
    reset between tests)."""
    names = {v: f"<pass {k}>" for k, v in relay.pass_ids.items()}
    kinds = {"firm": ("hk_firm", "mainland_firm", "third_firm"),
             "site": ("crossing", "yard", "other_yard", "checkpoint"),
             "driver": ("hk_driver", "untested_driver", "local_driver", "mainland_driver"),
             "vehicle": ("tractor", "spare_tractor", "truck")}
    by_key = {key: {relay.ids[n]: n for n in kinds[kind]} for kind, keys in (
        ("firm", ("inbound_firm_id", "outbound_firm_id", "collecting_firm_id")),
        ("site", ("yard_site_id", "crossing_site_id", "site_id")),
        ("driver", ("inbound_driver_id", "outbound_driver_id")),
        ("vehicle", ("inbound_vehicle_id", "outbound_vehicle_id"))) for key in keys}

    def plain(value):
        if isinstance(value, dict):
            return {k: by_key[k].get(v, v) if k in by_key else plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if hasattr(value, "value"):
            return value.value
        return names.get(value, value) if isinstance(value, str) else value

    session.expire_all()
    row = session.execute(select(Handover.__table__).where(Handover.id == handover_id)).one()._asdict()
    events = session.execute(select(HandoverEvent.__table__).where(HandoverEvent.handover_id == handover_id)
                             .order_by(HandoverEvent.seq)).all()
    entries = {e.seq: e for e in session.scalars(select(AuditEntry).where(AuditEntry.object_type == "handover",
                                                                          AuditEntry.object_id == str(handover_id)))}
    for event in events:  # each event names its own audit entry
        assert entries[event.audit_seq].hash == event.audit_hash
    alerts = session.scalars(select(Alert).where(Alert.subject_type == "handover",
                                                 Alert.subject_id == str(handover_id))).all()
    return plain({
        "handover": {k: v for k, v in row.items() if k not in ("id",)},
        "events": [{k: v for k, v in e._asdict().items() if k not in ("id", "handover_id", "audit_hash")}
                   for e in events],
        "audit": [{"seq_order": i, "action": e.action, "actor": [e.actor_name, e.actor_role], "at": e.at,
                   "changes": {k: v for k, v in e.changes.items() if k != "alert_id"}}
                  for i, e in enumerate(sorted(entries.values(), key=lambda e: e.seq))],
        "alerts": [{"kind": a.kind, "area_code": a.area_code, "details": a.details, "raised_at": a.raised_at}
                   for a in alerts]})


def _normalise_audit_seqs(effects: dict) -> dict:
    # Audit seq numbers depend on how many entries the world set-up wrote: keep only their order.
    first = min(e["audit_seq"] for e in effects["events"])
    return {**effects, "events": [{**e, "audit_seq": e["audit_seq"] - first} for e in effects["events"]]}


def test_the_fast_path_leaves_what_the_orm_path_left(session, relay, now):
    handover_id = _journey(relay, now)
    effects = _normalise_audit_seqs(_effects(session, relay, handover_id))
    for key in EXPECTED:
        assert effects[key] == EXPECTED[key], key
    assert verify_chain(session) is None


def test_the_returned_handover_is_the_one_in_the_database(session, relay, now):
    handover = relay.book(now, outbound=True)
    after = relay.event(handover.id, "arrived", now + timedelta(minutes=1))
    assert after is handover  # the session's own copy, brought up to date
    assert after.state.value == "arrived" and after.arrived_at == now + timedelta(minutes=1)
    assert [e.type.value for e in after.events] == ["booked", "arrived"]
    session.expunge_all()  # a fresh session (the API's): built from the locked row, events loaded on reading
    fresh = relay.event(handover.id, "seals_checked", now + timedelta(minutes=2))
    assert fresh.state.value == "seals_ok" and fresh.seal_check["missing"] == []
    assert [e.seq for e in fresh.events] == [1, 2, 3]
    assert fresh.state_since == now + timedelta(minutes=2)


# Per event: the lock (with the last event's seq and time and the client_event_id check on SQLite, where
# BEGIN IMMEDIATE already holds the write lock; a second statement after the lock on PostgreSQL), the
# handover's new state and times, the audit head moved from the tip this process last wrote and the entry,
# the event. SQLite's BEGIN is sent as SQL. It was 9 statements on SQLite before (docs/performance.md).
PLAIN_EVENT = ["SELECT handovers", "UPDATE handovers", "UPDATE audit_head", "INSERT INTO audit_entries",
               "INSERT INTO handover_events"]
EXPECTED_STATEMENTS = {"sqlite": ["BEGIN IMMEDIATE", *PLAIN_EVENT],
                       "postgresql": ["SELECT handovers", "SELECT (SELECT handover_events", *PLAIN_EVENT[1:]]}


def _shape(statement: str) -> str:
    for prefix in ("BEGIN IMMEDIATE", "SELECT handovers", "SELECT (SELECT handover_events", "UPDATE handovers",
                   "UPDATE audit_head", "INSERT INTO audit_entries", "INSERT INTO handover_events"):
        if statement.startswith(prefix):
            return prefix
    return statement


def test_an_event_runs_the_pinned_statements_and_no_more(app, relay, now):
    handover = relay.book(now, outbound=True)
    relay.event(handover.id, "arrived", now + timedelta(minutes=1))
    with statements(app.extensions["db"].engine) as seen:
        relay.event(handover.id, "seals_checked", now + timedelta(minutes=2), client_event_id="station-1/9")
    assert [_shape(s) for s in seen] == EXPECTED_STATEMENTS[app.extensions["db"].engine.dialect.name], seen
    with statements(app.extensions["db"].engine) as again:  # the same step sent again: read, nothing written
        relay.event(handover.id, "seals_checked", now + timedelta(minutes=2), client_event_id="station-1/9")
    assert not any(s.startswith(("INSERT", "UPDATE")) for s in again), again


def test_an_append_after_another_writer_moved_the_head_keeps_the_chain(app, session, relay, now):
    """The tip an engine remembers is only a hint: another process's entry, or our own rolled-back one,
    makes the one-statement move miss, and the head is read instead."""
    handover = relay.book(now, outbound=True)
    other = create_engine(app.config["DATABASE_URL"])  # a second app host on the same database
    try:
        with Session(other) as elsewhere, elsewhere.begin():
            audit.record(elsewhere, SYSTEM.audit, "test.elsewhere", object_type="test", object_id=1, at=now)
    finally:
        other.dispose()
    with pytest.raises(RuntimeError), transaction(session):  # an entry written and then rolled back
        audit.record(session, SYSTEM.audit, "test.rolled_back", object_type="test", object_id=2, at=now)
        raise RuntimeError
    relay.event(handover.id, "arrived", now + timedelta(minutes=1))
    relay.event(handover.id, "seals_checked", now + timedelta(minutes=2))
    assert verify_chain(session) is None
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq.desc()).limit(4)).all()
    assert actions == ["handover.seals_checked", "handover.arrived", "test.elsewhere", "handover.booked"]


# Recorded from the ORM path (main before the Core path) for _journey at the fixed test clock.
EXPECTED = {'handover': {'yard_site_id': 'yard',
              'crossing_site_id': 'crossing',
              'inbound_firm_id': 'hk_firm',
              'inbound_driver_id': 'hk_driver',
              'inbound_vehicle_id': 'tractor',
              'container_no': 'CSQU3054383',
              'seals': ['HK2026001', 'HK2026002'],
              'sealed_by': '香港海关 HK Customs',
              'cargo_category': 'vegetables',
              'cargo_description': '新鲜蔬菜 fresh vegetables',
              'packages': 120,
              'gross_kg': 8500,
              'outbound_firm_id': 'mainland_firm',
              'outbound_driver_id': 'mainland_driver',
              'outbound_vehicle_id': 'truck',
              'state': 'completed',
              'booked_at': '2026-03-14T08:00:00+00:00',
              'arrived_at': '2026-03-14T08:01:00+00:00',
              'dropped_at': '2026-03-14T08:06:00+00:00',
              'inbound_departed_at': '2026-03-14T08:07:00+00:00',
              'collected_at': '2026-03-14T08:20:00+00:00',
              'return_due_at': '2026-03-14T09:36:00+00:00',
              'returned_at': None,
              'return_alerted_at': None,
              'updated_at': '2026-03-14T08:22:00+00:00'},
 'events': [{'seq': 1,
             'type': 'booked',
             'at': '2026-03-14T08:00:00+00:00',
             'site_id': None,
             'actor_id': None,
             'actor_name': 'HK firm',
             'state_after': 'booked',
             'data': {'container_no': 'CSQU3054383',
                      'seals': ['HK2026001', 'HK2026002'],
                      'sealed_by': '香港海关 HK Customs',
                      'cargo': {'category': 'vegetables',
                                'description': '新鲜蔬菜 fresh vegetables',
                                'packages': 120,
                                'gross_kg': 8500},
                      'collecting_firm_id': 'mainland_firm'},
             'audit_seq': 0,
             'client_event_id': None},
            {'seq': 2,
             'type': 'arrived',
             'at': '2026-03-14T08:01:00+00:00',
             'site_id': 'yard',
             'actor_id': 4,
             'actor_name': 'yard account',
             'state_after': 'arrived',
             'data': {'pass_id': '<pass hk>'},
             'audit_seq': 1,
             'client_event_id': 'station-1/1'},
            {'seq': 3,
             'type': 'seals_checked',
             'at': '2026-03-14T08:03:00+00:00',
             'site_id': 'yard',
             'actor_id': 4,
             'actor_name': 'yard account',
             'state_after': 'held',
             'data': {'seals_seen': ['HK2026001', 'XX9999999']},
             'audit_seq': 2,
             'client_event_id': None},
            {'seq': 4,
             'type': 'seals_checked',
             'at': '2026-03-14T08:04:00+00:00',
             'site_id': 'yard',
             'actor_id': 4,
             'actor_name': 'yard account',
             'state_after': 'seals_ok',
             'data': {'seals_seen': ['HK2026001', 'HK2026002']},
             'audit_seq': 4,
             'client_event_id': 'station-1/2'},
            {'seq': 5,
             'type': 'disinfected',
             'at': '2026-03-14T08:05:00+00:00',
             'site_id': 'yard',
             'actor_id': 4,
             'actor_name': 'yard account',
             'state_after': 'disinfected',
             'data': {},
             'audit_seq': 5,
             'client_event_id': None},
            {'seq': 6,
             'type': 'dropped',
             'at': '2026-03-14T08:06:00+00:00',
             'site_id': 'yard',
             'actor_id': 4,
             'actor_name': 'yard account',
             'state_after': 'dropped',
             'data': {},
             'audit_seq': 6,
             'client_event_id': None},
            {'seq': 7,
             'type': 'inbound_departed',
             'at': '2026-03-14T08:07:00+00:00',
             'site_id': 'yard',
             'actor_id': 4,
             'actor_name': 'yard account',
             'state_after': 'inbound_departed',
             'data': {},
             'audit_seq': 7,
             'client_event_id': None},
            {'seq': 8,
             'type': 'collected',
             'at': '2026-03-14T08:20:00+00:00',
             'site_id': 'yard',
             'actor_id': 4,
             'actor_name': 'yard account',
             'state_after': 'collected',
             'data': {'pass_id': '<pass mainland>'},
             'audit_seq': 8,
             'client_event_id': None},
            {'seq': 9,
             'type': 'outbound_departed',
             'at': '2026-03-14T08:21:00+00:00',
             'site_id': 'yard',
             'actor_id': 4,
             'actor_name': 'yard account',
             'state_after': 'outbound_departed',
             'data': {},
             'audit_seq': 9,
             'client_event_id': None},
            {'seq': 10,
             'type': 'completed',
             'at': '2026-03-14T08:22:00+00:00',
             'site_id': 'yard',
             'actor_id': 4,
             'actor_name': 'yard account',
             'state_after': 'completed',
             'data': {},
             'audit_seq': 10,
             'client_event_id': None}],
 'audit': [{'seq_order': 0,
            'action': 'handover.booked',
            'actor': ['HK firm', 'firm'],
            'at': '2026-03-14T08:00:00+00:00',
            'changes': {'at': '2026-03-14 08:00:00+00:00',
                        'state': 'booked',
                        'container_no': 'CSQU3054383',
                        'seals': ['HK2026001', 'HK2026002'],
                        'sealed_by': '香港海关 HK Customs',
                        'cargo': {'category': 'vegetables',
                                  'description': '新鲜蔬菜 fresh vegetables',
                                  'packages': 120,
                                  'gross_kg': 8500},
                        'collecting_firm_id': 'mainland_firm'}},
           {'seq_order': 1,
            'action': 'handover.arrived',
            'actor': ['yard account', 'yard'],
            'at': '2026-03-14T08:01:00+00:00',
            'changes': {'at': '2026-03-14 08:01:00+00:00', 'state': 'arrived', 'pass_id': '<pass hk>'}},
           {'seq_order': 2,
            'action': 'handover.seals_checked',
            'actor': ['yard account', 'yard'],
            'at': '2026-03-14T08:03:00+00:00',
            'changes': {'at': '2026-03-14 08:03:00+00:00',
                        'state': 'held',
                        'seals_seen': ['HK2026001', 'XX9999999']}},
           {'seq_order': 3,
            'action': 'alert.seal_mismatch',
            'actor': ['yard account', 'yard'],
            'at': '2026-03-14T08:03:00+00:00',
            'changes': {'expected': ['HK2026001', 'HK2026002'], 'seen': ['HK2026001', 'XX9999999']}},
           {'seq_order': 4,
            'action': 'handover.seals_checked',
            'actor': ['yard account', 'yard'],
            'at': '2026-03-14T08:04:00+00:00',
            'changes': {'at': '2026-03-14 08:04:00+00:00',
                        'state': 'seals_ok',
                        'seals_seen': ['HK2026001', 'HK2026002']}},
           {'seq_order': 5,
            'action': 'handover.disinfected',
            'actor': ['yard account', 'yard'],
            'at': '2026-03-14T08:05:00+00:00',
            'changes': {'at': '2026-03-14 08:05:00+00:00', 'state': 'disinfected'}},
           {'seq_order': 6,
            'action': 'handover.dropped',
            'actor': ['yard account', 'yard'],
            'at': '2026-03-14T08:06:00+00:00',
            'changes': {'at': '2026-03-14 08:06:00+00:00', 'state': 'dropped'}},
           {'seq_order': 7,
            'action': 'handover.inbound_departed',
            'actor': ['yard account', 'yard'],
            'at': '2026-03-14T08:07:00+00:00',
            'changes': {'at': '2026-03-14 08:07:00+00:00', 'state': 'inbound_departed'}},
           {'seq_order': 8,
            'action': 'handover.collected',
            'actor': ['yard account', 'yard'],
            'at': '2026-03-14T08:20:00+00:00',
            'changes': {'at': '2026-03-14 08:20:00+00:00', 'state': 'collected', 'pass_id': '<pass mainland>'}},
           {'seq_order': 9,
            'action': 'handover.outbound_departed',
            'actor': ['yard account', 'yard'],
            'at': '2026-03-14T08:21:00+00:00',
            'changes': {'at': '2026-03-14 08:21:00+00:00', 'state': 'outbound_departed'}},
           {'seq_order': 10,
            'action': 'handover.completed',
            'actor': ['yard account', 'yard'],
            'at': '2026-03-14T08:22:00+00:00',
            'changes': {'at': '2026-03-14 08:22:00+00:00', 'state': 'completed'}}],
 'alerts': [{'kind': 'seal_mismatch',
             'area_code': '440304001',
             'details': {'expected': ['HK2026001', 'HK2026002'], 'seen': ['HK2026001', 'XX9999999']},
             'raised_at': '2026-03-14T08:03:00+00:00'}]}

"""Relay-yard services against a real session: booking, the event journey with its audit trail, seal holds,
driver clearance, the no-contact rule, concurrent events, overdue returns (and the CLI), listing and the yard board."""
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core import audit
from core.accounts import SYSTEM
from checkpoints.alerts import list_alerts
from checkpoints.models import Alert, AlertKind
from core.audit import AuditEntry, entry_hash
from core.db import Page
from core.errors import Forbidden, Unprocessable
from checkpoints.models import Site
from logistics import services
from logistics.errors import DriverNotCleared, EventNotAllowed, HandoverNotFound
from logistics.handovers import EventType as E
from logistics.handovers import HandoverState as S
from passes import services as passes
from tests.api.logistics_helpers import (CITY, CONTAINER, RETURN, SEALS, YARD_AREA, booking, build_relay,
                                         clock, journey_times)
from tests.factories import record_negative_test
from whitelist.models import IdType

STATES = {"arrived": S.ARRIVED, "seals_checked": S.SEALS_OK, "disinfected": S.DISINFECTED, "dropped": S.DROPPED,
          "inbound_departed": S.INBOUND_DEPARTED, "collected": S.COLLECTED, "outbound_departed": S.OUTBOUND_DEPARTED,
          "completed": S.COMPLETED}


@pytest.fixture
def relay(session, areas, cipher, app, now):
    return build_relay(session, areas, cipher, app.extensions["keyring"], now)


def minutes(now, m: float) -> datetime:
    return now + timedelta(minutes=m)


def audit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


def alerts_for(session, relay, who: str, kind: AlertKind) -> list[Alert]:
    return list_alerts(session, actor=relay.actors[who], areas=relay.areas, kind=kind, open_only=False,
                       page=Page())[0]


# ---- the journey -------------------------------------------------------------------------------------

def test_a_load_walks_through_every_state_with_its_times_and_an_audited_event_each(session, relay, now):
    handover = relay.book(now)
    assert (handover.state, handover.booked_at, [e.type.value for e in handover.events]) == (S.BOOKED, now, ["booked"])
    assert handover.events[0].data["container_no"] == CONTAINER and handover.events[0].site_id is None
    times = journey_times(minutes(now, 10), timedelta(minutes=30))
    for kind, at in times.items():
        if kind == "collected":
            relay.name_outbound(handover.id, at - timedelta(seconds=30))
        handover = relay.event(handover.id, kind, at)
        last = handover.events[-1]
        assert (handover.state, last.type.value, last.at, last.state_after) == (STATES[kind], kind, at, STATES[kind])
        assert (last.site_id, last.actor_name) == (relay.ids["yard"], "yard account")
    assert handover.arrived_at == times["arrived"] and handover.collected_at == times["collected"]
    assert handover.dropped_at == times["dropped"] and handover.inbound_departed_at == times["inbound_departed"]
    assert handover.return_due_at == times["dropped"] + RETURN and handover.returned_at is None
    assert [e.seq for e in handover.events] == list(range(1, 10))
    assert handover.events[1].data == {"pass_id": relay.pass_ids["hk"]}
    assert handover.events[2].data == {"seals_seen": SEALS}
    assert handover.events[6].data == {"pass_id": relay.pass_ids["mainland"]}
    for event in handover.events:
        row = session.scalars(select(AuditEntry).where(AuditEntry.seq == event.audit_seq)).one()
        assert (row.hash, row.action, row.object_type, row.object_id) == (
            event.audit_hash, f"handover.{event.type.value}", "handover", str(handover.id))
        assert entry_hash(seq=row.seq, at=row.at, actor_id=row.actor_id, actor_name=row.actor_name,
                          actor_role=row.actor_role, action=row.action, object_type=row.object_type,
                          object_id=row.object_id, changes=row.changes, prev_hash=row.prev_hash) == row.hash
    assert audit.verify_chain(session) is None


def test_the_custody_chain_lists_the_events_in_order_with_their_audit_hashes(session, relay, now):
    handover = relay.book(now)
    relay.walk(handover.id, arrive=minutes(now, 5), until="dropped")
    chain = services.custody_chain(session, handover.id, actor=relay.actors["hk_firm"], areas=relay.areas)
    assert [e["type"] for e in chain["events"]] == ["booked", "arrived", "seals_checked", "disinfected", "dropped"]
    assert [e["seq"] for e in chain["events"]] == [1, 2, 3, 4, 5]
    assert [e["audit_seq"] for e in chain["events"]] == sorted(e["audit_seq"] for e in chain["events"])
    assert (chain["state"], chain["seals"], chain["container_no"]) == ("dropped", SEALS, CONTAINER)
    with pytest.raises(HandoverNotFound):     # a firm not party to the load does not learn it exists
        services.custody_chain(session, handover.id, actor=relay.actors["third_firm"], areas=relay.areas)


# ---- seals ---------------------------------------------------------------------------------------------

def test_a_seal_mismatch_holds_the_load_alerts_the_yards_regulators_and_a_later_match_releases_it(
        session, relay, now):
    handover = relay.book(now)
    relay.event(handover.id, "arrived", minutes(now, 10))
    handover = relay.event(handover.id, "seals_checked", minutes(now, 12), seals_seen=["HK2026001", "HK9999999"])
    assert handover.state is S.HELD and handover.events[-1].state_after is S.HELD
    (alert,) = alerts_for(session, relay, "futian", AlertKind.SEAL_MISMATCH)
    assert (alert.subject_type, alert.subject_id, alert.area_code) == ("handover", str(handover.id), YARD_AREA)
    assert alert.details == {"expected": SEALS, "seen": ["HK2026001", "HK9999999"]}
    assert alerts_for(session, relay, "nanshan", AlertKind.SEAL_MISMATCH) == []
    with pytest.raises(EventNotAllowed) as refused:
        relay.event(handover.id, "dropped", minutes(now, 13))
    assert refused.value.details == {"state": "held", "allowed": ["seals_checked", "exception"]}
    handover = relay.event(handover.id, "seals_checked", minutes(now, 30), seals_seen=[" hk2026002", "HK2026001"])
    assert handover.state is S.SEALS_OK
    assert len(alerts_for(session, relay, "futian", AlertKind.SEAL_MISMATCH)) == 1


def test_a_seal_check_must_list_the_seals_seen(relay, now):
    handover = relay.book(now)
    relay.event(handover.id, "arrived", minutes(now, 10))
    with pytest.raises(Unprocessable) as refused:
        relay.event(handover.id, "seals_checked", minutes(now, 12), seals_seen=[])
    assert "seals_seen" in refused.value.fields


# ---- driver clearance ------------------------------------------------------------------------------------

def _refused_arrival(session, relay, handover, who="yard", **data) -> list[str]:
    before = (audit_count(session), len(handover.events))
    with pytest.raises(DriverNotCleared) as refused:
        relay.event(handover.id, "arrived", handover.booked_at + timedelta(minutes=10), who=who, **data)
    session.expire_all()
    handover = services.get_handover(session, handover.id, actor=SYSTEM, areas=relay.areas)
    assert handover.state is S.BOOKED and handover.arrived_at is None
    assert (audit_count(session), len(handover.events)) == before
    assert refused.value.code == "driver_not_cleared"
    return refused.value.details["reasons"]


def test_a_revoked_pass_does_not_clear_the_inbound_driver(session, relay, now):
    handover = relay.book(now)
    passes.change_pass_status(session, relay.pass_ids["hk"], "revoke", actor=CITY, areas=relay.areas,
                              reason="吊销 revoked", now=now)
    assert "revoked" in _refused_arrival(session, relay, handover)


def test_a_pass_for_another_vehicle_does_not_clear_the_inbound_driver(session, relay, now):
    handover = relay.book(now)
    assert _refused_arrival(session, relay, handover, qr=relay.qr["spare"]) == ["pass_not_for_this_leg"]


def test_the_mainland_drivers_pass_does_not_clear_the_inbound_leg(session, relay, now):
    handover = relay.book(now)
    assert _refused_arrival(session, relay, handover, qr=relay.qr["mainland"]) == ["pass_not_for_this_leg"]


def test_an_unreadable_qr_does_not_clear_the_driver(session, relay, now):
    handover = relay.book(now)
    assert _refused_arrival(session, relay, handover, qr="GL1:not-a-pass") == ["malformed"]


def test_a_route_bound_pass_is_not_good_at_a_yard_off_its_route(session, relay, now):
    handover = relay.book(now, yard="other_yard")
    assert "out_of_scope" in _refused_arrival(session, relay, handover, who="other_yard")


def test_an_arrival_needs_the_scanned_pass(relay, now):
    handover = relay.book(now)
    with pytest.raises(Unprocessable) as refused:
        relay.event(handover.id, "arrived", minutes(now, 10), qr=None)
    assert "qr" in refused.value.fields


def test_a_driver_without_a_fresh_test_is_not_cleared_until_one_is_recorded(session, areas, cipher, app, now):
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], now, hk_tested=False)
    handover = relay.book(now)
    assert _refused_arrival(session, relay, handover) == ["test_missing"]
    record_negative_test(session, cipher, now, id_type=IdType.HK_ID, id_number="A1234563", hours_ago=100)
    assert _refused_arrival(session, relay, handover) == ["test_stale"]
    record_negative_test(session, cipher, now, id_type=IdType.HK_ID, id_number="A1234563", hours_ago=2)
    assert relay.event(handover.id, "arrived", minutes(now, 10)).state is S.ARRIVED


def test_the_collecting_driver_needs_a_valid_pass_for_the_outbound_leg(session, relay, now):
    handover = relay.book(now)
    relay.walk(handover.id, arrive=minutes(now, 10), until="inbound_departed")
    with pytest.raises(Unprocessable) as refused:
        relay.event(handover.id, "collected", minutes(now, 30))
    assert "outbound" in refused.value.fields            # nobody named to collect yet
    relay.name_outbound(handover.id, minutes(now, 20))
    with pytest.raises(DriverNotCleared) as refused:
        relay.event(handover.id, "collected", minutes(now, 30), qr=relay.qr["hk"])
    assert refused.value.details["reasons"] == ["pass_not_for_this_leg"]
    passes.change_pass_status(session, relay.pass_ids["mainland"], "suspend", actor=CITY, areas=relay.areas,
                              reason="核查 check", now=minutes(now, 25))
    with pytest.raises(DriverNotCleared) as refused:
        relay.event(handover.id, "collected", minutes(now, 30))
    assert "suspended" in refused.value.details["reasons"]


# ---- timing and transitions -------------------------------------------------------------------------------

def test_collection_must_come_after_the_inbound_driver_left(relay, now):
    handover = relay.book(now)
    handover = relay.walk(handover.id, arrive=minutes(now, 10), until="inbound_departed")
    left = handover.inbound_departed_at
    relay.name_outbound(handover.id, left)
    with pytest.raises(Unprocessable) as refused:
        relay.event(handover.id, "collected", left, now=minutes(now, 60))
    assert "no contact" in refused.value.fields["at"][0]
    with pytest.raises(Unprocessable) as refused:
        relay.event(handover.id, "collected", left - timedelta(seconds=1), now=minutes(now, 60))
    assert "before the previous event" in refused.value.fields["at"][0]
    assert relay.event(handover.id, "collected", left + timedelta(seconds=1)).state is S.COLLECTED


def test_an_event_out_of_order_is_refused_naming_the_state_and_the_allowed_events(session, relay, now):
    handover = relay.book(now)
    before = audit_count(session)
    with pytest.raises(EventNotAllowed) as refused:
        relay.event(handover.id, "collected", minutes(now, 5))
    assert refused.value.details == {"state": "booked", "allowed": ["arrived", "exception"]}
    assert audit_count(session) == before


def test_an_event_dated_in_the_future_is_refused(relay, now):
    handover = relay.book(now)
    with pytest.raises(Unprocessable) as refused:
        relay.event(handover.id, "arrived", minutes(now, 6), now=now)
    assert "at" in refused.value.fields


def test_a_regulator_of_the_yard_may_record_only_an_exception_and_it_ends_the_journey(session, relay, now):
    handover = relay.book(now)
    relay.walk(handover.id, arrive=minutes(now, 10), until="dropped")
    with pytest.raises(Forbidden):
        relay.event(handover.id, "inbound_departed", minutes(now, 20), who="futian")
    with pytest.raises(Forbidden):
        relay.event(handover.id, "exception", minutes(now, 20), who="nanshan", reason="越权 not mine")
    with pytest.raises(Forbidden):
        relay.event(handover.id, "inbound_departed", minutes(now, 20), who="other_yard")
    with pytest.raises(Unprocessable):
        relay.event(handover.id, "exception", minutes(now, 20), who="futian")
    handover = relay.event(handover.id, "exception", minutes(now, 20), who="futian", reason="货物受损 damaged")
    assert handover.state is S.EXCEPTION and handover.events[-1].data == {"reason": "货物受损 damaged"}
    with pytest.raises(EventNotAllowed) as refused:
        relay.event(handover.id, "inbound_departed", minutes(now, 21))
    assert refused.value.details == {"state": "exception", "allowed": []}



def test_concurrent_drops_of_one_load_record_exactly_one_event(app, session, relay, now):
    handover = relay.book(now)
    relay.walk(handover.id, arrive=minutes(now, 10), until="seals_checked")
    outcomes = []

    def drop():
        own = app.extensions["db"].sessionmaker()
        try:
            services.record_event(own, handover.id, data={"type": E.DROPPED, "at": minutes(now, 20)},
                                  actor=relay.actors["yard"], areas=relay.areas, cache={}, max_return=RETURN,
                                  now=minutes(now, 20))
            outcomes.append("dropped")
        except EventNotAllowed:
            outcomes.append("refused")
        finally:
            own.close()

    threads = [threading.Thread(target=drop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["dropped"] + ["refused"] * 3
    session.expire_all()
    events = services.get_handover(session, handover.id, actor=SYSTEM, areas=relay.areas).events
    assert [e.type.value for e in events][-2:] == ["seals_checked", "dropped"] and len(events) == 4

# ---- booking and the outbound leg ------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "field"), [
    ({"driver": "local_driver"}, "inbound"),            # not a cross-border driver
    ({"vehicle": "truck"}, "inbound"),                  # another firm's vehicle
    ({"crossing": "checkpoint"}, "crossing_site_id"),
    ({"yard": "crossing"}, "yard_site_id"),
])
def test_a_booking_with_the_wrong_driver_vehicle_or_sites_is_refused(relay, now, overrides, field):
    with pytest.raises(Unprocessable) as refused:
        relay.book(now, **overrides)
    assert field in refused.value.fields


def test_a_crossing_closed_to_goods_cannot_be_booked(session, relay, now):
    huanggang = session.scalars(select(Site).where(Site.ref_code == "LMC_HG")).one()
    relay.ids["huanggang"] = huanggang.id
    with pytest.raises(Unprocessable):
        relay.book(now, crossing="huanggang")


def test_only_a_firm_books(relay, now):
    with pytest.raises(Forbidden):
        services.book_handover(relay.session, data=booking(relay), actor=relay.actors["yard"], now=now)


def test_the_outbound_leg_is_named_only_by_the_collecting_firm_until_collection(relay, now):
    own = relay.book(now, collector="hk_firm")
    with pytest.raises(Unprocessable):        # the inbound driver cannot collect his own load
        services.name_outbound(relay.session, own.id, data={"driver_id": relay.ids["hk_driver"],
                                                            "vehicle_id": relay.ids["spare_tractor"]},
                               actor=relay.actors["hk_firm"], now=now)
    handover = relay.book(now)                # collected by the mainland firm
    assert handover.outbound_firm_id == relay.ids["mainland_firm"]
    relay.name_outbound(handover.id, now)
    leg = {"driver_id": relay.ids["mainland_driver"], "vehicle_id": relay.ids["truck"]}
    with pytest.raises(HandoverNotFound):     # not party to the load
        services.name_outbound(relay.session, handover.id, data=leg, actor=relay.actors["third_firm"], now=now)
    with pytest.raises(Forbidden):            # the booking firm named the collector; the leg is the collector's
        services.name_outbound(relay.session, handover.id, data=leg, actor=relay.actors["hk_firm"], now=now)
    relay.walk(handover.id, arrive=minutes(now, 10), until="collected")
    with pytest.raises(EventNotAllowed):
        relay.name_outbound(handover.id, minutes(now, 30))


# ---- the closed loop: return to the crossing ------------------------------------------------------------

def test_an_inbound_driver_who_does_not_scan_out_in_time_raises_one_overdue_alert(session, relay, now):
    handover = relay.book(now)
    handover = relay.walk(handover.id, arrive=minutes(now, 10), until="inbound_departed")
    due = handover.return_due_at
    assert services.raise_overdue_returns(session, now=due) == []
    assert services.raise_overdue_returns(session, now=due + timedelta(seconds=1)) == [handover.id]
    assert services.raise_overdue_returns(session, now=due + timedelta(hours=1)) == []
    (alert,) = alerts_for(session, relay, "futian", AlertKind.RETURN_OVERDUE)
    assert (alert.subject_id, alert.area_code) == (str(handover.id), YARD_AREA)
    assert alert.details == {"driver_id": relay.ids["hk_driver"], "due": due.isoformat()}


def test_a_scan_out_at_the_crossing_after_the_drop_closes_the_loop(session, relay, now):
    handover = relay.book(now)
    relay.scan_out(minutes(now, 5))                       # before the drop: not the way back
    handover = relay.walk(handover.id, arrive=minutes(now, 10), until="inbound_departed")
    assert handover.returned_at is None
    relay.scan_out(minutes(now, 20), qr_of="spare")       # another tractor of the firm
    assert handover.returned_at is None
    answer = relay.scan_out(minutes(now, 40))
    assert answer["verdict"] == "accept"
    assert handover.returned_at == minutes(now, 40)
    assert services.raise_overdue_returns(session, now=minutes(now, 600)) == []
    assert alerts_for(session, relay, "city", AlertKind.RETURN_OVERDUE) == []


def test_the_check_overdue_command_alerts_once(session, areas, cipher, app):
    start = clock() - timedelta(hours=4)
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], start)
    home, late = relay.book(start), relay.book(start)
    # The same tractor: home is dropped and scanned out before late arrives (a scan-out closes every earlier drop).
    relay.walk(home.id, arrive=start + timedelta(minutes=10), until="inbound_departed", scan_out=True)
    relay.walk(late.id, arrive=start + timedelta(minutes=20), until="inbound_departed")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["logistics", "check-overdue"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == f"1 new overdue-return alert(s): {late.id}"
    second = runner.invoke(args=["logistics", "check-overdue"])
    assert second.output.strip() == "0 new overdue-return alert(s)"
    session.commit()
    assert [a.subject_id for a in alerts_for(session, relay, "futian", AlertKind.RETURN_OVERDUE)] == [str(late.id)]


# ---- listing and the yard board ---------------------------------------------------------------------------

def _ids(session, relay, who, **filters) -> list[int]:
    items, total = services.list_handovers(session, actor=relay.actors[who], areas=relay.areas, filters=filters,
                                           page=Page(size=100))
    assert total == len(items)
    return sorted(h.id for h in items)


def test_handovers_are_listed_by_yard_state_and_china_day_to_those_who_may_see_them(session, relay, now):
    late_14th = datetime(2026, 3, 14, 15, 59, tzinfo=timezone.utc)    # 23:59 in Shenzhen
    early_15th = datetime(2026, 3, 14, 16, 0, tzinfo=timezone.utc)    # 00:00 on the 15th
    a, b = relay.book(late_14th, collector="hk_firm"), relay.book(early_15th, collector="hk_firm")
    c = relay.book(early_15th, yard="other_yard", outbound=True)
    relay.event(b.id, "arrived", early_15th + timedelta(minutes=5))
    everything = sorted([a.id, b.id, c.id])
    assert _ids(session, relay, "hk_firm") == everything == _ids(session, relay, "futian")
    assert _ids(session, relay, "mainland_firm") == [c.id] and _ids(session, relay, "third_firm") == []
    assert _ids(session, relay, "yard") == [a.id, b.id] and _ids(session, relay, "other_yard") == [c.id]
    assert _ids(session, relay, "nanshan") == []
    assert _ids(session, relay, "hk_firm", yard=relay.ids["other_yard"]) == [c.id]
    assert _ids(session, relay, "hk_firm", state=S.ARRIVED) == [b.id]
    assert _ids(session, relay, "hk_firm", day=date(2026, 3, 14)) == [a.id]
    assert _ids(session, relay, "hk_firm", day=date(2026, 3, 15)) == sorted([b.id, c.id])
    assert _ids(session, relay, "yard", yard=relay.ids["other_yard"]) == []


def test_the_yard_board_counts_loads_occupancy_dwell_and_overdue_returns(session, relay, now):
    board_at = now + timedelta(hours=30)
    old = relay.book(now)
    relay.walk(old.id, arrive=minutes(now, 10), dwell=timedelta(minutes=300), scan_out=True)  # outside 24 h
    recent = now + timedelta(hours=20)
    for i in range(1, 11):
        handover = relay.book(recent - timedelta(minutes=5))
        relay.walk(handover.id, arrive=recent, dwell=timedelta(minutes=10 * i), scan_out=True)
    waiting = relay.book(recent)
    held, arrived, dropped, failed = (relay.book(recent) for _ in range(4))
    relay.event(held.id, "arrived", recent + timedelta(minutes=1))
    relay.event(held.id, "seals_checked", recent + timedelta(minutes=2), seals_seen=["X1"])
    relay.event(arrived.id, "arrived", recent + timedelta(minutes=1))
    relay.walk(dropped.id, arrive=recent + timedelta(minutes=1), until="dropped")
    relay.event(failed.id, "exception", recent + timedelta(minutes=1), reason="取消 cancelled")
    board = services.yard_board(session, relay.ids["yard"], actor=relay.actors["yard"], areas=relay.areas,
                                now=board_at)
    assert [c["id"] for c in board["waiting"]] == [waiting.id]
    assert [c["id"] for c in board["held"]] == [held.id]
    assert sorted(c["id"] for c in board["in_progress"]) == sorted([arrived.id, dropped.id])
    assert (board["occupancy"], board["capacity"], board["occupancy_ratio"]) == (3, 3, 1.0)
    assert board["dwell_minutes"] == {"count": 10, "median": 55.0, "p90": 90.0}
    assert [c["id"] for c in board["overdue_returns"]] == [dropped.id]
    for who in ("other_yard", "nanshan", "hk_firm"):
        with pytest.raises(Forbidden):
            services.yard_board(session, relay.ids["yard"], actor=relay.actors[who], areas=relay.areas, now=board_at)
    with pytest.raises(Unprocessable):
        services.yard_board(session, relay.ids["crossing"], actor=SYSTEM, areas=relay.areas, now=board_at)


def test_a_pass_routed_through_another_crossing_does_not_clear_the_inbound_driver(session, relay, now):
    wenjindu = session.scalars(select(Site).where(Site.ref_code == "MKT_WJD")).one()
    relay.ids["wenjindu"] = wenjindu.id
    handover = relay.book(now, crossing="wenjindu")          # the pass is routed SZB → yard
    assert _refused_arrival(session, relay, handover) == ["pass_not_for_this_route"]

"""API tests for relay-yard handovers: the whole journey over HTTP with its custody chain (plain and signed),
seal holds, driver clearance, refused transitions, the no-contact rule, the closed-loop return, permissions,
listing, the yard board and its page, and booking validation."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from logistics.models import HandoverEvent
from tests.api.helpers import API, assert_problem, count, fetch
from tests.api.logistics_helpers import (BAD_CONTAINER, CONTAINER, SEALS, YARD_AREA, booking_json, build_relay,
                                         clock)
from tests.api.pass_helpers import trust_list, usable_keys, verify_cose

JOURNEY = ["arrived", "seals_checked", "disinfected", "dropped", "inbound_departed", "collected",
           "outbound_departed", "completed"]
STATE_AFTER = {"seals_checked": "seals_ok"}


@pytest.fixture
def relay(app, session, areas, cipher):
    return build_relay(session, areas, cipher, app.extensions["keyring"], clock())


def book(client, relay, who="hk_firm", **overrides):
    response = client.post(f"{API}/handovers", json=booking_json(relay, **overrides), headers=relay.headers(who))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def post_event(client, relay, handover_id, kind, who="yard", at: datetime | None = None, **fields):
    body = {"type": kind, **fields}
    if at is not None:
        body["at"] = at.isoformat()
    return client.post(f"{API}/handovers/{handover_id}/events", json=body, headers=relay.headers(who))


def step(client, relay, handover_id, kind, at=None, **fields) -> dict:
    defaults = {"arrived": {"qr": relay.qr["hk"]}, "seals_checked": {"seals_seen": SEALS},
                "collected": {"qr": relay.qr["mainland"]}}.get(kind, {})
    response = post_event(client, relay, handover_id, kind, at=at, **{**defaults, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def name_outbound(client, relay, handover_id, who="mainland_firm"):
    return client.put(f"{API}/handovers/{handover_id}/outbound", headers=relay.headers(who),
                      json={"driver_id": relay.ids["mainland_driver"], "vehicle_id": relay.ids["truck"]})


def get(client, relay, path, who="hk_firm", **query):
    return client.get(f"{API}/{path}", query_string=query, headers=relay.headers(who))


def at_of(value: str) -> datetime:
    return datetime.fromisoformat(value)


# ---- the journey -------------------------------------------------------------------------------------

def test_a_load_walks_through_every_state_and_its_custody_chain_matches_the_audit_log(client, session, relay):
    created = book(client, relay)
    assert (created["state"], created["inbound"]["container_no"], created["inbound"]["seals"]) == (
        "booked", CONTAINER, SEALS)
    assert created["outbound"] == {"driver_id": None, "vehicle_id": None}
    booked_at = at_of(created["booked_at"])
    times = {kind: booked_at + timedelta(seconds=i + 1) for i, kind in enumerate(JOURNEY)}
    for kind in JOURNEY:
        if kind == "collected":
            named = name_outbound(client, relay, created["id"])
            assert named.status_code == 200
            assert named.get_json()["outbound"]["driver_id"] == relay.ids["mainland_driver"]
        body = step(client, relay, created["id"], kind, at=times[kind])
        assert body["state"] == STATE_AFTER.get(kind, kind)
        assert (body["events"][-1]["type"], at_of(body["events"][-1]["at"])) == (kind, times[kind])
    done = get(client, relay, f"handovers/{created['id']}").get_json()
    assert done["state"] == "completed"
    assert {k: at_of(done[k]) for k in ("arrived_at", "dropped_at", "collected_at", "return_due_at")} == {
        "arrived_at": times["arrived"], "dropped_at": times["dropped"], "collected_at": times["collected"],
        "return_due_at": times["dropped"] + timedelta(minutes=90)}
    custody = get(client, relay, f"handovers/{created['id']}/custody", who="mainland_firm")
    assert custody.status_code == 200
    chain = custody.get_json()
    assert [e["type"] for e in chain["events"]] == ["booked", *JOURNEY]
    assert [e["seq"] for e in chain["events"]] == list(range(1, 10))
    assert [e["state_after"] for e in chain["events"]][-1] == "completed"
    rows = {row.seq: row for row in fetch(session, select(AuditEntry).where(
        AuditEntry.object_type == "handover", AuditEntry.object_id == str(created["id"]))).scalars()}
    for event in chain["events"]:
        row = rows[event["audit_seq"]]
        assert (row.hash, row.action) == (event["audit_hash"], f"handover.{event['type']}")
    assert chain["events"][1]["data"] == {"pass_id": relay.pass_ids["hk"]}
    signed = get(client, relay, f"handovers/{created['id']}/custody.cose", who="mainland_firm")
    assert signed.status_code == 200 and signed.mimetype == "application/cose"
    _, payload = verify_cose(signed.data, usable_keys(trust_list(client)))
    document = json.loads(payload)
    assert document.pop("issued_at")
    assert document == chain


# ---- seals -------------------------------------------------------------------------------------------

def test_a_seal_mismatch_holds_the_load_and_alerts_the_yards_regulator_until_a_matching_check(client, relay):
    handover = book(client, relay)
    step(client, relay, handover["id"], "arrived")
    held = step(client, relay, handover["id"], "seals_checked", seals_seen=["HK2026001", "HK2026999"])
    assert held["state"] == "held" and held["events"][-1]["data"] == {"seals_seen": ["HK2026001", "HK2026999"]}
    alerts = get(client, relay, "alerts", who="futian", kind="seal_mismatch").get_json()
    assert [(a["subject_type"], a["subject_id"], a["area_code"]) for a in alerts] == [
        ("handover", str(handover["id"]), YARD_AREA)]
    assert get(client, relay, "alerts", who="nanshan", kind="seal_mismatch").get_json() == []
    refused = post_event(client, relay, handover["id"], "dropped")
    assert assert_problem(refused, 409, "event_not_allowed")["details"] == {
        "state": "held", "allowed": ["seals_checked", "exception"]}
    released = step(client, relay, handover["id"], "seals_checked", seals_seen=["hk2026002 ", "HK2026001"])
    assert released["state"] == "seals_ok"


# ---- driver clearance ------------------------------------------------------------------------------------

def _assert_not_cleared(client, session, relay, handover_id, **fields) -> list[str]:
    before = count(session, HandoverEvent), count(session, AuditEntry)
    body = assert_problem(post_event(client, relay, handover_id, "arrived", **fields), 422, "driver_not_cleared")
    assert get(client, relay, f"handovers/{handover_id}").get_json()["state"] == "booked"
    assert (count(session, HandoverEvent), count(session, AuditEntry)) == before
    return body["details"]["reasons"]


def test_a_revoked_pass_or_a_pass_for_another_vehicle_is_a_422_listing_the_reasons(client, session, relay):
    handover = book(client, relay)
    assert _assert_not_cleared(client, session, relay, handover["id"], qr=relay.qr["spare"]) == [
        "pass_not_for_this_leg"]
    revoked = client.post(f"{API}/passes/{relay.pass_ids['hk']}/revoke", json={"reason": "吊销 revoked"},
                          headers=relay.headers("city"))
    assert revoked.status_code == 200, revoked.get_json()
    assert "revoked" in _assert_not_cleared(client, session, relay, handover["id"], qr=relay.qr["hk"])


def test_a_driver_without_a_fresh_test_is_a_422(client, app, session, areas, cipher):
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], clock(), hk_tested=False)
    handover = book(client, relay)
    assert _assert_not_cleared(client, session, relay, handover["id"], qr=relay.qr["hk"]) == ["test_missing"]


# ---- transitions and timing -----------------------------------------------------------------------------

def test_collecting_right_after_booking_is_a_409_naming_the_state_and_allowed_events(client, session, relay):
    handover = book(client, relay)
    before = count(session, HandoverEvent)
    body = assert_problem(post_event(client, relay, handover["id"], "collected", qr=relay.qr["mainland"]), 409,
                          "event_not_allowed")
    assert body["details"] == {"state": "booked", "allowed": ["arrived", "exception"]}
    assert "booked" in body["detail"] and count(session, HandoverEvent) == before


def test_a_collection_not_after_the_inbound_drivers_departure_is_a_422(client, relay):
    handover = book(client, relay)
    booked_at = at_of(handover["booked_at"])
    for i, kind in enumerate(JOURNEY[:5]):
        step(client, relay, handover["id"], kind, at=booked_at + timedelta(seconds=i + 1))
    left = booked_at + timedelta(seconds=5)
    assert name_outbound(client, relay, handover["id"]).status_code == 200
    body = assert_problem(post_event(client, relay, handover["id"], "collected", at=left, qr=relay.qr["mainland"]),
                          422)
    assert "no contact" in body["errors"]["at"][0]
    assert step(client, relay, handover["id"], "collected", at=left + timedelta(seconds=1))["state"] == "collected"


# ---- the closed loop ------------------------------------------------------------------------------------

def _drop(client, relay) -> dict:
    handover = book(client, relay)
    for kind in JOURNEY[:5]:
        step(client, relay, handover["id"], kind)
    return handover


def test_a_driver_who_has_not_scanned_out_in_time_is_an_overdue_return_alerted_once(app, client, relay):
    app.config["RETURN_MINUTES"] = 0
    handover = _drop(client, relay)
    for _ in range(2):
        board = get(client, relay, f"yards/{relay.ids['yard']}/board", who="yard").get_json()
        assert [c["id"] for c in board["overdue_returns"]] == [handover["id"]]
    alerts = get(client, relay, "alerts", who="futian", kind="return_overdue").get_json()
    assert [(a["subject_id"], a["details"]["driver_id"]) for a in alerts] == [
        (str(handover["id"]), relay.ids["hk_driver"])]


def test_the_officer_at_the_crossing_scanning_the_inbound_pass_closes_the_loop(app, client, relay):
    app.config["RETURN_MINUTES"] = 0
    handover = _drop(client, relay)
    scan = client.post(f"{API}/scans", json={"qr": relay.qr["hk"]}, headers=relay.headers("officer"))
    assert scan.status_code == 200 and scan.get_json()["verdict"] == "accept", scan.get_json()
    returned = get(client, relay, f"handovers/{handover['id']}").get_json()
    assert at_of(returned["returned_at"]) >= at_of(returned["dropped_at"])
    board = get(client, relay, f"yards/{relay.ids['yard']}/board", who="yard").get_json()
    assert board["overdue_returns"] == []
    assert get(client, relay, "alerts", who="futian", kind="return_overdue").get_json() == []


# ---- permissions and listing ----------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["yard", "futian", "officer", "admin"])
def test_only_firm_accounts_book(client, relay, who):
    response = client.post(f"{API}/handovers", json=booking_json(relay), headers=relay.headers(who))
    assert_problem(response, 403)


def test_only_the_yards_own_staff_record_steps_and_a_regulator_only_an_exception(client, relay):
    handover = book(client, relay)
    assert_problem(post_event(client, relay, handover["id"], "arrived", qr=relay.qr["hk"], who="other_yard"), 403)
    assert_problem(post_event(client, relay, handover["id"], "arrived", qr=relay.qr["hk"], who="futian"), 403)
    assert_problem(post_event(client, relay, handover["id"], "exception", reason="x", who="nanshan"), 403)
    assert_problem(post_event(client, relay, handover["id"], "exception", who="hk_firm", reason="x"), 403)
    ended = step(client, relay, handover["id"], "exception", who="futian", reason="走私嫌疑 suspected smuggling")
    assert ended["state"] == "exception" and ended["events"][-1]["data"] == {"reason": "走私嫌疑 suspected smuggling"}


def test_a_firm_sees_only_the_handovers_it_is_part_of(client, relay):
    own = book(client, relay, collector="hk_firm")
    assert_problem(get(client, relay, f"handovers/{own['id']}", who="mainland_firm"), 404, "handover_not_found")
    handover = book(client, relay)  # the mainland firm is named as the collector at booking
    path = f"handovers/{handover['id']}"
    assert get(client, relay, path, who="mainland_firm").status_code == 200
    assert [h["id"] for h in get(client, relay, "handovers", who="mainland_firm").get_json()] == [handover["id"]]
    assert name_outbound(client, relay, handover["id"]).status_code == 200
    # A firm that is not party to a load is told it does not exist.
    assert_problem(get(client, relay, path, who="third_firm"), 404, "handover_not_found")
    assert_problem(get(client, relay, f"{path}/custody", who="third_firm"), 404, "handover_not_found")
    assert get(client, relay, "handovers", who="third_firm").get_json() == []
    assert_problem(name_outbound(client, relay, handover["id"], who="third_firm"), 404, "handover_not_found")


def test_handovers_are_listed_by_yard_state_and_day(client, relay):
    here, there = book(client, relay), book(client, relay, yard="other_yard")
    step(client, relay, here["id"], "arrived")
    china_day = {h["id"]: at_of(h["booked_at"]).astimezone(timezone(timedelta(hours=8))).date() for h in (here, there)}
    today = china_day[here["id"]]

    def ids(who="hk_firm", **query):
        response = get(client, relay, "handovers", who=who, **query)
        assert response.status_code == 200, response.get_json()
        return sorted(h["id"] for h in response.get_json())

    assert ids() == sorted([here["id"], there["id"]])
    assert ids(yard=relay.ids["other_yard"]) == [there["id"]]
    assert ids(state="arrived") == [here["id"]] and ids(state="booked") == [there["id"]]
    assert ids(day=today.isoformat()) == sorted(i for i, d in china_day.items() if d == today)  # robust at midnight
    assert ids(day=(today - timedelta(days=1)).isoformat()) == []
    assert ids(who="yard") == [here["id"]] and ids(who="futian") == sorted([here["id"], there["id"]])
    assert ids(who="nanshan") == []
    assert_problem(get(client, relay, "handovers", who="hk_firm", state="lost"), 422)


# ---- the yard board ---------------------------------------------------------------------------------------

def test_the_yard_board_shows_loads_occupancy_dwell_and_overdue_returns(app, client, session, areas, cipher):
    start = clock() - timedelta(hours=10)
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], start)
    for i, dwell in enumerate((20, 40, 90)):
        handover = relay.book(start)
        relay.walk(handover.id, arrive=start + timedelta(minutes=10 + i), dwell=timedelta(minutes=dwell),
                   scan_out=True)
    later = start + timedelta(hours=5)
    waiting, held, dropped = relay.book(later), relay.book(later), relay.book(later)
    relay.event(held.id, "arrived", later + timedelta(minutes=1))
    relay.event(held.id, "seals_checked", later + timedelta(minutes=2), seals_seen=["HK0"])
    relay.walk(dropped.id, arrive=later + timedelta(minutes=1), until="dropped")
    response = get(client, relay, f"yards/{relay.ids['yard']}/board", who="yard")
    assert response.status_code == 200, response.get_json()
    board = response.get_json()
    assert board["yard"]["id"] == relay.ids["yard"] and board["yard"]["area_code"] == YARD_AREA
    assert [c["id"] for c in board["waiting"]] == [waiting.id]
    assert [c["id"] for c in board["held"]] == [held.id]
    assert [c["id"] for c in board["in_progress"]] == [dropped.id]
    assert (board["occupancy"], board["capacity"], board["occupancy_ratio"]) == (2, 3, 0.667)
    assert board["dwell_minutes"] == {"count": 3, "median": 40.0, "p90": 90.0}
    assert [c["id"] for c in board["overdue_returns"]] == [dropped.id]
    assert get(client, relay, f"yards/{relay.ids['yard']}/board", who="futian").status_code == 200
    for who in ("nanshan", "other_yard", "hk_firm"):
        assert_problem(get(client, relay, f"yards/{relay.ids['yard']}/board", who=who), 403)


def test_the_yard_page_is_labelled_in_chinese_or_english_from_the_catalog(client, relay):
    response = client.get(f"/yards/{relay.ids['yard']}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for label in ("接驳场工作台", "占用", "停留时间", "中位数", "扣留", "待到达", "逾期未返"):
        assert label in page
    assert f'data-yard-id="{relay.ids["yard"]}"' in page
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    client.set_cookie("greenlane_lang", "en")
    english = client.get(f"/yards/{relay.ids['yard']}").get_data(as_text=True)
    for label in ("Yard station", "Occupancy", "Dwell", "median", "Held", "Waiting", "Overdue returns",
                  "Due back", "Sign in first"):  # the last two are the script's, in its JSON block
        assert label in english
    assert "接驳场工作台" not in english and '<html lang="en">' in english


# ---- booking validation -------------------------------------------------------------------------------------

def test_a_container_number_with_a_wrong_check_digit_is_a_422_on_inbound_container_no(client, session, relay):
    response = client.post(f"{API}/handovers", json=booking_json(relay, container_no=BAD_CONTAINER),
                           headers=relay.headers("hk_firm"))
    assert "container_no" in assert_problem(response, 422)["errors"]["inbound"]
    assert count(session, HandoverEvent) == 0


def test_a_container_number_is_stored_normalised(client, relay):
    assert book(client, relay, container_no="csqu 305438-3")["inbound"]["container_no"] == CONTAINER


@pytest.mark.parametrize(("overrides", "field"), [
    ({"driver": "local_driver"}, "inbound"),
    ({"crossing": "checkpoint"}, "crossing_site_id"),
    ({"yard": "checkpoint"}, "yard_site_id"),
])
def test_a_non_cross_border_driver_or_a_wrong_site_is_a_422(client, session, relay, overrides, field):
    response = client.post(f"{API}/handovers", json=booking_json(relay, **overrides),
                           headers=relay.headers("hk_firm"))
    assert field in assert_problem(response, 422)["errors"]
    assert count(session, HandoverEvent) == 0


def test_a_handover_that_does_not_exist_is_a_404(client, relay):
    assert_problem(get(client, relay, "handovers/999999"), 404, "handover_not_found")
    assert_problem(post_event(client, relay, 999999, "arrived", qr=relay.qr["hk"]), 404, "handover_not_found")

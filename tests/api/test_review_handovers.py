"""Review defects of the relay yard (issue 13, items 1, 4 and 14): the booking names the collecting firm and
only that firm names (or changes) the outbound leg with its own driver and vehicle; only approved firms book,
name the leg or collect; the yard page shares the scanner page's token, answers 404 for a site that is not a
relay yard, and every time on the board is RFC 3339."""
import re
from datetime import datetime, timedelta

import pytest
from core.accounts import Role
from core.audit import AuditEntry
from logistics.models import Handover, HandoverEvent
from tests.api.helpers import API, assert_problem, audit_rows, count
from tests.api.logistics_helpers import CITY, booking_json, build_relay, clock
from tests.factories import RESIDENT_IDS, USCC, make_firm, make_person, make_token, make_vehicle
from whitelist import services as whitelist
from whitelist.models import VehicleKind

ROOT = __file__.rsplit("/tests/", 1)[0]


@pytest.fixture
def relay(app, session, areas, cipher):
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], clock())
    # The third firm gets a driver and a truck of its own: the takeover used exactly those.
    third = relay.ids["third_firm"]
    relay.ids["third_driver"] = make_person(session, areas, cipher, clock(), firm_id=third, name="王师傅",
                                            id_number=RESIDENT_IDS[1]).id
    relay.ids["third_truck"] = make_vehicle(session, areas, clock(), firm_id=third, plate="粤B54321",
                                            kind=VehicleKind.TRUCK).id
    return relay


def post_booking(client, relay, who="hk_firm", *, drop=(), **fields):
    body = {**booking_json(relay), **fields}
    for key in drop:
        body.pop(key)
    return client.post(f"{API}/handovers", json=body, headers=relay.headers(who))


def book(client, relay, **fields) -> dict:
    response = post_booking(client, relay, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def put_outbound(client, relay, handover_id, who, driver="mainland_driver", vehicle="truck"):
    return client.put(f"{API}/handovers/{handover_id}/outbound", headers=relay.headers(who),
                      json={"driver_id": relay.ids[driver], "vehicle_id": relay.ids[vehicle]})


def stored(session, handover_id) -> Handover:
    session.commit()  # a fresh snapshot: the request committed through its own session
    session.expire_all()
    return session.get(Handover, handover_id)


def outbound_audits(session, handover_id) -> list[AuditEntry]:
    return audit_rows(session, object_type="handover", object_id=handover_id, action="handover.outbound_named")


def suspend(session, areas, relay, firm: str) -> None:
    whitelist.change_firm_status(session, relay.ids[firm], "suspend", actor=CITY, areas=areas, now=clock(),
                                 reason="review test")


# ---- item 1: the booking names the collecting firm ----------------------------------------------------

def test_a_booking_without_a_collecting_firm_is_a_422_and_books_nothing(client, session, relay):
    before = count(session, Handover), count(session, AuditEntry)
    body = assert_problem(post_booking(client, relay, drop=("collecting_firm_id",)), 422, "validation_failed")
    assert "collecting_firm_id" in body["errors"]
    assert (count(session, Handover), count(session, AuditEntry)) == before


def test_the_booking_stores_the_collecting_firm_and_shows_it(client, session, relay):
    created = book(client, relay, collecting_firm_id=relay.ids["mainland_firm"])
    assert created["collecting_firm_id"] == relay.ids["mainland_firm"]
    assert created["outbound"] == {"driver_id": None, "vehicle_id": None}
    assert stored(session, created["id"]).outbound_firm_id == relay.ids["mainland_firm"]
    booked = audit_rows(session, object_type="handover", object_id=created["id"], action="handover.booked")
    assert len(booked) == 1
    # The nominated firm is party to the load at once: it reads it and its custody chain.
    seen = client.get(f"{API}/handovers/{created['id']}", headers=relay.headers("mainland_firm"))
    assert seen.status_code == 200 and seen.get_json()["collecting_firm_id"] == relay.ids["mainland_firm"]
    assert client.get(f"{API}/handovers/{created['id']}/custody",
                      headers=relay.headers("mainland_firm")).status_code == 200


@pytest.mark.parametrize("collector", ["missing", "pending", "suspended"])
def test_the_collecting_firm_must_exist_and_be_approved(client, session, areas, relay, collector):
    if collector == "missing":
        firm_id = 999999
    elif collector == "pending":
        firm_id = make_firm(session, areas, clock(), approved=False, name="待批 Pending", uscc=USCC[3])[0].id
    else:
        suspend(session, areas, relay, "mainland_firm")
        firm_id = relay.ids["mainland_firm"]
    before = count(session, Handover), count(session, AuditEntry)
    response = post_booking(client, relay, collecting_firm_id=firm_id)
    body = assert_problem(response, 422)
    assert list(body["errors"]) == ["collecting_firm_id"]
    assert (count(session, Handover), count(session, AuditEntry)) == before


def test_a_third_firm_cannot_take_over_a_load_and_learns_nothing_about_it(client, session, relay):
    handover = book(client, relay)
    path = f"{API}/handovers/{handover['id']}"
    taken = put_outbound(client, relay, handover["id"], "third_firm", driver="third_driver", vehicle="third_truck")
    missing = put_outbound(client, relay, 999999, "third_firm", driver="third_driver", vehicle="third_truck")
    # The same answer as for a load that does not exist: its existence is not revealed.
    assert assert_problem(taken, 404, "handover_not_found")["title"] == assert_problem(missing, 404)["title"]
    for suffix in ("", "/custody", "/custody.cose"):
        assert_problem(client.get(path + suffix, headers=relay.headers("third_firm")), 404, "handover_not_found")
    row = stored(session, handover["id"])
    assert (row.outbound_firm_id, row.outbound_driver_id, row.outbound_vehicle_id) == (
        relay.ids["mainland_firm"], None, None)
    assert outbound_audits(session, handover["id"]) == []
    # The rightful collector is not locked out.
    named = put_outbound(client, relay, handover["id"], "mainland_firm")
    assert named.status_code == 200, named.get_json()
    assert named.get_json()["outbound"] == {"driver_id": relay.ids["mainland_driver"], "vehicle_id": relay.ids["truck"]}
    assert len(outbound_audits(session, handover["id"])) == 1


@pytest.mark.parametrize(("driver", "vehicle"), [("third_driver", "third_truck"), ("local_driver", "spare_tractor"),
                                                 ("mainland_driver", "third_truck")])
def test_the_collecting_firm_names_only_its_own_driver_and_vehicle(client, session, relay, driver, vehicle):
    handover = book(client, relay)
    response = put_outbound(client, relay, handover["id"], "mainland_firm", driver=driver, vehicle=vehicle)
    assert "outbound" in assert_problem(response, 422, "validation_failed")["errors"]
    assert stored(session, handover["id"]).outbound_driver_id is None
    assert outbound_audits(session, handover["id"]) == []


def test_the_booking_firm_may_not_change_the_outbound_leg_after_booking(client, session, relay):
    handover = book(client, relay, outbound={"driver_id": relay.ids["mainland_driver"],
                                             "vehicle_id": relay.ids["truck"]})
    response = put_outbound(client, relay, handover["id"], "hk_firm", driver="local_driver", vehicle="spare_tractor")
    assert "collecting firm" in assert_problem(response, 403, "forbidden")["detail"]
    row = stored(session, handover["id"])
    assert (row.outbound_driver_id, row.outbound_vehicle_id) == (relay.ids["mainland_driver"], relay.ids["truck"])
    assert outbound_audits(session, handover["id"]) == []
    # The collecting firm still changes its own leg before collection.
    assert put_outbound(client, relay, handover["id"], "mainland_firm").status_code == 200


def test_a_booking_firm_that_collects_itself_names_its_own_leg(client, session, relay):
    handover = book(client, relay, collecting_firm_id=relay.ids["hk_firm"])
    response = put_outbound(client, relay, handover["id"], "hk_firm", driver="local_driver", vehicle="spare_tractor")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["collecting_firm_id"] == relay.ids["hk_firm"]
    assert stored(session, handover["id"]).outbound_driver_id == relay.ids["local_driver"]
    assert_problem(put_outbound(client, relay, handover["id"], "mainland_firm"), 404, "handover_not_found")


@pytest.mark.parametrize(("driver", "vehicle", "ok"), [
    ("mainland_driver", "truck", True),          # the nominated collecting firm's
    ("local_driver", "spare_tractor", True),     # the booking firm's own
    ("third_driver", "third_truck", False),      # a firm that is not party to the load
])
def test_at_booking_the_outbound_leg_is_the_booking_or_the_collecting_firms(client, session, relay, driver, vehicle,
                                                                          ok):
    before = count(session, Handover)
    response = post_booking(client, relay, outbound={"driver_id": relay.ids[driver], "vehicle_id": relay.ids[vehicle]})
    if ok:
        assert response.status_code == 201, response.get_json()
        row = stored(session, response.get_json()["id"])
        assert (row.outbound_firm_id, row.outbound_driver_id) == (relay.ids["mainland_firm"], relay.ids[driver])
    else:
        assert "outbound" in assert_problem(response, 422, "validation_failed")["errors"]
        assert count(session, Handover) == before


# ---- items 1 and 4: only approved firms book, name the leg or collect -------------------------------------

def test_a_pending_firm_may_not_book(client, session, areas, relay):
    _, token = make_firm(session, areas, clock(), approved=False, name="待批 Pending", uscc=USCC[3])
    before = count(session, Handover), count(session, AuditEntry)
    response = client.post(f"{API}/handovers", json=booking_json(relay),
                           headers={"Authorization": f"Bearer {token}"})
    assert assert_problem(response, 422, "not_whitelisted")["errors"] == {"firm": ["firm is pending"]}
    assert (count(session, Handover), count(session, AuditEntry)) == before


def test_a_suspended_firm_may_not_book(client, session, areas, relay):
    suspend(session, areas, relay, "hk_firm")
    before = count(session, Handover), count(session, AuditEntry)
    response = post_booking(client, relay)
    assert assert_problem(response, 422, "not_whitelisted")["errors"] == {"firm": ["firm is suspended"]}
    assert (count(session, Handover), count(session, AuditEntry)) == before


def test_a_suspended_collecting_firm_may_not_name_the_leg(client, session, areas, relay):
    handover = book(client, relay)
    suspend(session, areas, relay, "mainland_firm")
    response = put_outbound(client, relay, handover["id"], "mainland_firm")
    assert assert_problem(response, 422, "not_whitelisted")["errors"] == {"firm": ["firm is suspended"]}
    assert stored(session, handover["id"]).outbound_driver_id is None
    assert outbound_audits(session, handover["id"]) == []


def test_a_load_is_not_collected_for_a_suspended_collecting_firm(client, session, areas, relay):
    start = clock() - timedelta(minutes=30)
    handover = relay.book(start)
    relay.walk(handover.id, arrive=start + timedelta(minutes=1), until="inbound_departed")
    assert put_outbound(client, relay, handover.id, "mainland_firm").status_code == 200
    suspend(session, areas, relay, "mainland_firm")
    before = count(session, HandoverEvent), count(session, AuditEntry)
    response = client.post(f"{API}/handovers/{handover.id}/events", headers=relay.headers("yard"),
                           json={"type": "collected", "qr": relay.qr["mainland"]})
    body = assert_problem(response, 422, "not_whitelisted")
    assert body["errors"] == {"collecting_firm_id": ["firm is suspended"]}
    assert stored(session, handover.id).state.value == "inbound_departed"
    assert (count(session, HandoverEvent), count(session, AuditEntry)) == before


# ---- item 14: the yard page and its board ---------------------------------------------------------------

@pytest.mark.parametrize("site", ["missing", "checkpoint", "crossing"])
def test_the_yard_page_of_a_site_that_is_not_a_relay_yard_is_a_404_page(client, relay, site):
    yard_id = 999999 if site == "missing" else relay.ids[site]
    response = client.get(f"/yards/{yard_id}")
    assert response.status_code == 404 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for text in ("找不到接驳场", str(yard_id)):
        assert text in page
    for board_only in ("board.js", "data-yard-id", "占用"):
        assert board_only not in page
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert client.get(f"/yards/{relay.ids['yard']}").status_code == 200


HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} ")


def _strings(value, path="board"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def test_every_time_on_the_yard_board_is_rfc_3339(client, relay):
    start = clock() - timedelta(minutes=50)  # the passes are valid from an hour before the relay was built
    waiting, dropped = relay.book(start), relay.book(start)
    relay.walk(dropped.id, arrive=start + timedelta(minutes=5), until="dropped")
    response = client.get(f"{API}/yards/{relay.ids['yard']}/board", headers=relay.headers("yard"))
    assert response.status_code == 200, response.get_json()
    board = response.get_json()
    assert [c["id"] for c in board["waiting"]] == [waiting.id]
    card = board["in_progress"][0]
    assert card["id"] == dropped.id
    assert datetime.fromisoformat(card["booked_at"]) == start
    assert datetime.fromisoformat(card["arrived_at"]) == start + timedelta(minutes=5)
    assert datetime.fromisoformat(card["return_due_at"]) == start + timedelta(minutes=5 + 3 + 90)
    assert board["waiting"][0]["arrived_at"] is None
    times = [(path, text) for path, text in _strings(board) if path.endswith("_at")]
    assert {p.rsplit(".", 1)[1] for p, _ in times} == {"booked_at", "arrived_at", "return_due_at", "generated_at"}
    for path, text in _strings(board):
        assert not HTTP_DATE.match(text), (path, text)
    for path, text in times:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)", text), (path, text)


def test_an_officer_posted_at_the_yard_reads_its_board_and_no_other(app, client, session, areas, relay):
    at_yard = make_token(session, areas, clock(), Role.OFFICER, site_id=relay.ids["yard"], name="场站检查员")
    elsewhere = make_token(session, areas, clock(), Role.OFFICER, site_id=relay.ids["checkpoint"])
    board = client.get(f"{API}/yards/{relay.ids['yard']}/board", headers={"Authorization": f"Bearer {at_yard}"})
    assert board.status_code == 200 and board.get_json()["yard"]["id"] == relay.ids["yard"]
    for token, yard in ((at_yard, "other_yard"), (elsewhere, "yard")):
        response = client.get(f"{API}/yards/{relay.ids[yard]}/board", headers={"Authorization": f"Bearer {token}"})
        assert_problem(response, 403, "forbidden")


def test_the_yard_station_reads_the_token_through_the_scanners_store(client):
    """One storage key for the token across /scan and the station: the station's scripts never name it."""
    for name in ("station.js", "board.js", "load.js"):
        response = client.get(f"/static/yard/{name}")
        script = response.get_data(as_text=True)
        response.close()
        assert response.status_code == 200 and "gl.scan." not in script, name
    assert 'from "../scan/store.js"' in script

"""The yard clerk's station (issue 14) over HTTP: the steps each state allows, as the API and the page give
them; a step uploaded twice (client_event_id) recorded once; the held load's differing seals and the overdue
driver's firm on the board; the refusal texts in the page's language; regulators read, another yard's staff
are refused; the custody record names site, actor and audit hash, and its .cose verifies."""
import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from logistics.handovers import HandoverState, next_steps
from logistics.models import HandoverEvent
from tests.api.helpers import API, assert_problem
from tests.api.logistics_helpers import SEALS, booking_json, build_relay, clock
from tests.api.pass_helpers import trust_list, usable_keys, verify_cose

# The steps a clerk sees for each state of the journey (after booking), the last one before it.
ALLOWED = {
    "booked": ["arrived", "exception"],
    "arrived": ["seals_checked", "exception"],
    "seals_ok": ["disinfected", "dropped", "exception"],
    "disinfected": ["dropped", "exception"],
    "dropped": ["inbound_departed", "exception"],
    "inbound_departed": ["collected", "exception"],
    "collected": ["outbound_departed", "exception"],
    "outbound_departed": ["completed", "exception"],
    "completed": [],
}
JOURNEY = [("arrived", "arrived"), ("seals_checked", "seals_ok"), ("disinfected", "disinfected"),
           ("dropped", "dropped"), ("inbound_departed", "inbound_departed"), ("collected", "collected"),
           ("outbound_departed", "outbound_departed"), ("completed", "completed")]


@pytest.fixture
def relay(app, session, areas, cipher):
    return build_relay(session, areas, cipher, app.extensions["keyring"], clock())


def book(client, relay) -> dict:
    response = client.post(f"{API}/handovers", json=booking_json(relay, outbound=True), headers=relay.headers("hk_firm"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def post(client, relay, handover_id, kind, who="yard", **fields):
    defaults = {"arrived": {"qr": relay.qr["hk"]}, "seals_checked": {"seals_seen": SEALS},
                "collected": {"qr": relay.qr["mainland"]}}.get(kind, {})
    return client.post(f"{API}/handovers/{handover_id}/events", json={"type": kind, **defaults, **fields},
                       headers=relay.headers(who))


def board(client, relay, who="yard") -> dict:
    response = client.get(f"{API}/yards/{relay.ids['yard']}/board", headers=relay.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def page_texts(client, path: str, language: str = "zh") -> dict:
    client.set_cookie("greenlane_lang", language)
    html = client.get(path).get_data(as_text=True)
    return json.loads(re.search(r'<script type="application/json" id="i18n">(.*?)</script>', html, re.S).group(1))


def test_the_api_gives_the_steps_each_state_allows_all_along_the_journey(client, relay):
    handover = book(client, relay)
    assert handover["allowed"] == ALLOWED["booked"]
    for kind, state in JOURNEY:
        handover = post(client, relay, handover["id"], kind).get_json()
        assert (handover["state"], handover["allowed"]) == (state, ALLOWED[state])
    assert [e["type"] for e in handover["events"]] == ["booked"] + [kind for kind, _ in JOURNEY]


def test_the_page_predicts_offline_steps_from_the_domains_table_not_a_copy(client, relay):
    texts = page_texts(client, f"/yards/{relay.ids['yard']}/loads/1")
    assert texts["steps"] == {state.value: next_steps(state) for state in HandoverState}
    assert texts["steps"]["arrived"] == {"seals_checked": "seals_ok", "exception": "exception"}
    assert texts["steps"]["completed"] == {}


def test_a_step_uploaded_twice_with_the_same_id_is_recorded_once(client, session, relay):
    handover = book(client, relay)
    step_id = str(uuid.uuid4())
    first = post(client, relay, handover["id"], "arrived", client_event_id=step_id)
    again = post(client, relay, handover["id"], "arrived", client_event_id=step_id)  # the answer was lost
    assert first.status_code == again.status_code == 201
    assert again.get_json()["state"] == "arrived" and len(again.get_json()["events"]) == 2
    assert session.scalar(select(func.count()).select_from(HandoverEvent).where(
        HandoverEvent.client_event_id == step_id)) == 1
    # A new id is a new step: refused, because the load has arrived already, naming what it allows.
    body = assert_problem(post(client, relay, handover["id"], "arrived", client_event_id=str(uuid.uuid4())), 409,
                          "event_not_allowed")
    assert body["details"] == {"state": "arrived", "allowed": ["seals_checked", "exception"]}


def test_the_same_step_id_on_another_load_is_another_step(client, relay):
    one, two = book(client, relay), book(client, relay)
    step_id = str(uuid.uuid4())
    assert post(client, relay, one["id"], "exception", reason="破损", client_event_id=step_id).status_code == 201
    assert post(client, relay, two["id"], "exception", reason="破损", client_event_id=step_id).get_json()["state"] \
        == "exception"


def test_a_held_load_on_the_board_names_the_seal_that_differs(client, relay):
    handover = book(client, relay)
    post(client, relay, handover["id"], "arrived")
    post(client, relay, handover["id"], "seals_checked", seals_seen=["hk2026001 ", "HK2026777"])
    card, = board(client, relay)["held"]
    assert card["seal_check"] == {"seen": ["hk2026001", "HK2026777"], "missing": ["HK2026002"],
                                  "unexpected": ["HK2026777"]}
    assert card["allowed"] == ["seals_checked", "exception"]  # released by a matching re-check, or ended
    assert card["plates"] == {"inbound": "粤Z1234港", "inbound_hk": "FV1234", "outbound": "粤B12345"}
    assert (card["container_no"], card["seals"], card["cargo"]["description"]) == (
        "CSQU3054383", SEALS, "新鲜蔬菜 fresh vegetables")
    released = post(client, relay, handover["id"], "seals_checked", seals_seen=list(reversed(SEALS))).get_json()
    assert released["state"] == "seals_ok" and released["seal_check"]["missing"] == []
    assert board(client, relay)["held"] == []


def test_an_overdue_return_on_the_board_says_how_long_and_the_drivers_firm(client, session, relay):
    start = clock() - timedelta(minutes=55)
    handover = relay.book(start)
    relay.walk(handover.id, arrive=start + timedelta(minutes=1), until="dropped")  # due back 90 min after the drop
    card, = board(client, relay)["in_progress"]
    assert card["overdue_minutes"] is None and card["state"] == "dropped"
    assert card["state_since"] == (start + timedelta(minutes=4)).isoformat()  # the drop, not the booking
    handover.return_due_at = clock() - timedelta(minutes=15)
    session.commit()
    card, = board(client, relay)["overdue_returns"]
    assert card["firms"]["inbound"] == "港深跨境物流有限公司 HK-SZ Cross-border Logistics"
    assert 15 <= card["overdue_minutes"] <= 16


def test_refusals_read_in_the_pages_language_with_the_codes_the_api_sends(client, relay):
    zh = page_texts(client, f"/yards/{relay.ids['yard']}", "zh")
    en = page_texts(client, f"/yards/{relay.ids['yard']}", "en")
    assert zh["refusals"]["event_not_allowed"].startswith("这一步现在不能做")
    assert en["refusals"]["event_not_allowed"].startswith("This step is not possible now")
    assert en["states"]["held"] == "Held" and en["events"]["seals_checked"] == "Check seals"
    assert en["reasons"]["pass_not_for_this_leg"] == "The pass is not for this load's vehicle or driver"
    assert en["fields"]["outbound"].startswith("The collecting firm has not named")
    handover = book(client, relay)
    # Each code and field the station words is one the API really sends for a refused step.
    assert assert_problem(post(client, relay, handover["id"], "dropped"), 409)["code"] in en["refusals"]
    assert assert_problem(post(client, relay, handover["id"], "arrived", who="other_yard"), 403)["code"] \
        in en["refusals"]
    refused = assert_problem(post(client, relay, handover["id"], "arrived", qr=relay.qr["mainland"]), 422,
                             "driver_not_cleared")
    assert set(refused["details"]["reasons"]) <= set(en["reasons"])
    assert set(assert_problem(post(client, relay, handover["id"], "arrived", qr=None), 422)["errors"]) \
        <= set(en["fields"])
    post(client, relay, handover["id"], "arrived")
    assert set(assert_problem(post(client, relay, handover["id"], "seals_checked", seals_seen=[]), 422)["errors"]) \
        <= set(en["fields"])
    assert set(assert_problem(post(client, relay, handover["id"], "exception", reason=None), 422)["errors"]) \
        <= set(en["fields"])


def test_a_regulator_of_the_area_reads_the_station_and_another_yards_staff_are_refused(client, relay):
    handover = book(client, relay)
    assert [c["id"] for c in board(client, relay, who="futian")["waiting"]] == [handover["id"]]
    assert_problem(post(client, relay, handover["id"], "arrived", who="futian"), 403, "forbidden")
    assert_problem(post(client, relay, handover["id"], "arrived", who="other_yard"), 403, "forbidden")
    assert_problem(client.get(f"{API}/yards/{relay.ids['yard']}/board", headers=relay.headers("other_yard")), 403)
    assert_problem(client.get(f"{API}/handovers/{handover['id']}", headers=relay.headers("other_yard")), 403)
    assert_problem(client.get(f"{API}/handovers/{handover['id']}", headers=relay.headers("nanshan")), 403)
    assert client.get(f"{API}/handovers/{handover['id']}", headers=relay.headers("futian")).get_json()["state"] \
        == "booked"  # nothing was recorded by the refused attempts


def test_the_custody_record_names_site_actor_and_audit_hash_and_its_cose_verifies(client, relay):
    handover = book(client, relay)
    for kind, _ in JOURNEY:
        post(client, relay, handover["id"], kind)
    custody = client.get(f"{API}/handovers/{handover['id']}/custody", headers=relay.headers("yard")).get_json()
    booked, *steps = custody["events"]
    assert booked["site"] is None and booked["actor"] == "港深跨境物流有限公司 HK-SZ Cross-border Logistics"
    assert {(e["site"], e["actor"]) for e in steps} == {("福田接驳场 Futian relay yard", "yard account")}
    assert all(re.fullmatch(r"[0-9a-f]{64}", e["audit_hash"]) for e in custody["events"])
    signed = client.get(f"{API}/handovers/{handover['id']}/custody.cose", headers=relay.headers("mainland_firm"))
    document = json.loads(verify_cose(signed.data, usable_keys(trust_list(client)))[1])
    document.pop("issued_at")
    assert document == custody


@pytest.mark.parametrize("path", ["/yards/{yard}", "/yards/{yard}/loads/1"])
def test_the_station_pages_allow_the_camera_and_only_this_sites_scripts(client, relay, path):
    response = client.get(path.format(yard=relay.ids["yard"]))
    csp = response.headers["Content-Security-Policy"]
    assert response.status_code == 200 and "script-src 'self';" in csp and "media-src 'self' blob:" in csp
    assert "unsafe-inline" not in csp


def test_a_load_page_of_a_site_that_is_not_a_relay_yard_is_a_404_page(client, relay):
    response = client.get(f"/yards/{relay.ids['checkpoint']}/loads/1")
    assert response.status_code == 404 and "load.js" not in response.get_data(as_text=True)

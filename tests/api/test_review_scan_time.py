"""Issue 13 item 8: the device's scan time is bounded. POST /scans refuses (422 naming `scanned_at`, nothing
written) a time more than GREENLANE_MAX_SCAN_AGE_HOURS (72) old, more than 5 minutes ahead, or before the pass
was issued; a scan inside the bounds is recorded with both the claimed time and the server's receipt time;
a relay return uploaded after it was due is credited when the server received it, not when the device says."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.accounts import Actor, Role
from logistics.models import Handover
from passes import services
from checkpoints.models import Scan
from tests.api.checkpoint_helpers import CITY, DRIVER_IDS, NANYUAN, build_post, clock, listing
from tests.api.helpers import API, assert_problem, count, fetch
from tests.api.logistics_helpers import RETURN, build_relay
from tests.factories import pass_data, record_negative_test

HOUR = timedelta(hours=1)


@pytest.fixture
def post(session, areas, cipher, app, now):
    return build_post(session, areas, cipher, app.extensions["keyring"], now)


def issue_at(post, at: datetime, *, days: float = 3, vehicle: int = 0):
    """A pass applied for and approved at `at` (valid from an hour before), its driver tested just before."""
    firm = Actor(None, "firm", Role.FIRM, firm_id=post.firm_id)
    vpass = services.apply_for_pass(post.session, data=pass_data(vehicle_id=post.vehicle_ids[vehicle],
                                                                 driver_ids=[post.driver_ids[2]], now=at, days=days,
                                                                 scope=(NANYUAN,)),
                                    actor=firm, areas=post.areas, max_days=7, now=at)
    return services.approve_pass(post.session, vpass.id, actor=CITY, areas=post.areas, ring=post.ring, now=at)


def post_scan(client, post, qr: str, scanned_at: datetime, who: str = "officer_a", **fields):
    return client.post(f"{API}/scans", json={"qr": qr, "scanned_at": scanned_at.isoformat(), **fields},
                       headers=post.headers(who))


def assert_refused(client, session, post, qr: str, scanned_at: datetime, *words: str) -> dict:
    before = count(session, Scan)
    body = assert_problem(post_scan(client, post, qr, scanned_at, client_scan_id="phone-1/0001"), 422,
                          "scan_time_out_of_bounds")
    assert list(body["errors"]) == ["scanned_at"]
    text = " ".join(body["errors"]["scanned_at"]) + " " + body["detail"]
    for word in words:
        assert word in text, (word, text)
    assert count(session, Scan) == before
    return body


def test_a_scan_dated_1970_is_a_422_naming_scanned_at_and_nothing_is_recorded(client, session, post):
    qr = post.issue(0).qr
    assert_refused(client, session, post, qr, datetime.fromisoformat("1970-01-01T00:00:00+00:00"),
                   "72 hours", "discard")
    assert fetch(session, select(Scan)).scalars().all() == []


def test_a_scan_73_hours_old_is_refused_and_one_71_hours_old_is_recorded_with_both_times(client, session, post,
                                                                                        cipher):
    vpass = issue_at(post, clock() - 80 * HOUR, days=5)
    record_negative_test(session, cipher, clock(), id_number=DRIVER_IDS[2], hours_ago=75)
    assert_refused(client, session, post, vpass.qr, clock() - 73 * HOUR, "72 hours")
    claimed = clock() - 71 * HOUR
    response = post_scan(client, post, vpass.qr, claimed, client_scan_id="phone-1/0002")
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert (answer["verdict"], answer["reasons"]) == ("accept", [])
    assert datetime.fromisoformat(answer["scanned_at"]) == claimed
    received = datetime.fromisoformat(answer["received_at"])
    assert abs((received - clock()).total_seconds()) < 60
    [row] = fetch(session, select(Scan)).scalars().all()
    assert (row.scanned_at, row.received_at, row.client_scan_id) == (claimed, received, "phone-1/0002")
    [listed] = listing(client, post, "scans", "auditor")
    assert (listed["scanned_at"], listed["received_at"]) == (answer["scanned_at"], answer["received_at"])


def test_the_window_is_configurable(app, client, session, post):
    qr = post.issue(0).qr
    app.config["MAX_SCAN_AGE_HOURS"] = 1
    assert_refused(client, session, post, qr, clock() - 2 * HOUR, "1 hours")


def test_a_scan_an_hour_in_the_future_is_refused_with_what_to_do(client, session, post):
    assert_refused(client, session, post, post.issue(0).qr, clock() + HOUR, "future", "clock")


def test_a_scan_claimed_before_the_pass_was_issued_is_refused(client, session, post):
    assert_refused(client, session, post, post.issue(0).qr, clock() - 2 * HOUR, "before", "issued")


def test_an_expired_pass_cannot_be_backdated_into_its_validity(client, session, post, cipher):
    issued = clock() - 5 * 24 * HOUR
    vpass = issue_at(post, issued, days=1)  # valid until four days ago
    record_negative_test(session, cipher, clock(), id_number=DRIVER_IDS[2], hours_ago=5 * 24 + 1)
    # What the backdating used to buy: the same scan "at" a time inside the window was recorded as accepted.
    assert_refused(client, session, post, vpass.qr, issued + 2 * HOUR, "72 hours")
    answer = post_scan(client, post, vpass.qr, clock()).get_json()
    assert (answer["verdict"], answer["reasons"]) == ("reject", ["expired", "test_stale"])
    assert [row.verdict.value for row in fetch(session, select(Scan)).scalars()] == ["reject"]


# ---- the relay return ---------------------------------------------------------------------------------------

def _dropped_load(session, areas, cipher, app, *, dropped_ago: timedelta):
    start = clock() - dropped_ago - timedelta(minutes=20)
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], start)
    handover = relay.book(start)
    relay.walk(handover.id, arrive=start + timedelta(minutes=10), until="dropped")
    session.commit()
    return relay, session.get(Handover, handover.id)


def test_a_return_uploaded_after_it_was_due_cannot_be_backdated_to_look_on_time(app, client, session, areas,
                                                                                 cipher):
    relay, handover = _dropped_load(session, areas, cipher, app, dropped_ago=2 * HOUR)
    assert handover.return_due_at == handover.dropped_at + RETURN < clock()
    claimed = handover.dropped_at + timedelta(minutes=30)  # "the driver left on time"
    response = client.post(f"{API}/scans", json={"qr": relay.qr["hk"], "scanned_at": claimed.isoformat()},
                           headers=relay.headers("officer"))
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["verdict"] == "accept" and datetime.fromisoformat(answer["scanned_at"]) == claimed
    received = datetime.fromisoformat(answer["received_at"])
    session.expire_all()
    returned = fetch(session, select(Handover).where(Handover.id == handover.id)).scalar_one()
    assert returned.returned_at == received > returned.return_due_at  # late, as the server saw it
    [row] = fetch(session, select(Scan)).scalars().all()
    assert (row.scanned_at, row.received_at) == (claimed, received)


def test_a_return_uploaded_before_it_was_due_keeps_the_devices_time(app, client, session, areas, cipher):
    relay, handover = _dropped_load(session, areas, cipher, app, dropped_ago=30 * timedelta(minutes=1))
    claimed = clock() - timedelta(minutes=10)  # queued offline for ten minutes, uploaded in time
    response = client.post(f"{API}/scans", json={"qr": relay.qr["hk"], "scanned_at": claimed.isoformat()},
                           headers=relay.headers("officer"))
    assert response.status_code == 200 and response.get_json()["verdict"] == "accept", response.get_json()
    session.expire_all()
    returned = fetch(session, select(Handover).where(Handover.id == handover.id)).scalar_one()
    assert returned.returned_at == claimed < returned.return_due_at


def test_the_scanner_page_drops_a_refused_queued_scan_instead_of_retrying_it_forever():
    from pathlib import Path
    script = (Path(__file__).resolve().parents[2] / "web/static/scan/queue.js").read_text(encoding="utf-8")
    upload = script[script.index("async function uploadQueue"):script.index("// ---- scanning")]
    branch = upload[upload.index("r.status === 422"):]
    assert branch.index("dequeue(item.scan.client_scan_id)") < branch.index("noteRefused(") < branch.index("else")

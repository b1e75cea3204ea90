"""The scan path's per-process caches (checkpoints/lookups.py, core/auth.py) never serve a stale answer: two
app instances on one database, each with its own caches; every change made through instance A is seen by
the very next scan on instance B, whose caches were warm before the change. No timers are involved."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import keys
from core.accounts import SYSTEM, Account, hash_token, revoke_account
from checkpoints.services import distance_km
from tests.api.checkpoint_helpers import DRIVER_IDS, SITE_A, SITE_B, build_post, clock, health_test, scan
from tests.api.helpers import API
from tests.conftest import _app_for
from whitelist.models import Firm


@pytest.fixture
def post(session, areas, cipher, app, now):
    return build_post(session, areas, cipher, app.extensions["keyring"], now)


@pytest.fixture
def other(database_url):
    """Instance B: another create_app on the same database (its own caches, its own connections)."""
    second = _app_for(database_url)
    yield second
    second.extensions["db"].engine.dispose()


@pytest.fixture
def client_b(other):
    return other.test_client()


def _warm(client_b, post, qr, who="officer_a") -> dict:
    # Twice, so that the second scan is served from instance B's caches.
    scan(client_b, post, qr, who=who)
    answer = scan(client_b, post, qr, who=who)
    assert answer["verdict"] == "accept", answer
    return answer


@pytest.mark.parametrize("action, reason", [("revoke", "revoked"), ("suspend", "suspended")])
def test_a_pass_revoked_or_suspended_on_one_instance_is_refused_by_the_next_scan_on_the_other(
        client, client_b, post, action, reason):
    vpass = post.issue(0)
    _warm(client_b, post, vpass.qr)
    response = client.post(f"{API}/passes/{vpass.id}/{action}", json={"reason": "伪造 forged papers"},
                           headers=post.headers("city"))
    assert response.status_code == 200, response.get_json()
    answer = scan(client_b, post, vpass.qr)
    assert (answer["verdict"], answer["reasons"]) == ("reject", [reason])


def test_a_revoked_signing_key_is_refused_by_the_next_scan_on_the_other_instance(session, client_b, post):
    vpass = post.issue(0)
    _warm(client_b, post, vpass.qr)
    keys.revoke_key(session, vpass.kid, actor=SYSTEM, now=clock(), reason="key leaked")
    answer = scan(client_b, post, vpass.qr)
    assert (answer["verdict"], answer["reasons"]) == ("reject", ["key_revoked"])


def test_a_revoked_officer_token_is_refused_by_the_next_request_on_the_other_instance(session, client_b, post):
    vpass = post.issue(0)
    _warm(client_b, post, vpass.qr)
    token = post.tokens["officer_a"]
    account = session.scalars(select(Account).where(Account.token_hash == hash_token(token))).one()
    revoke_account(session, account.id, actor=SYSTEM, now=clock())
    response = client_b.post(f"{API}/scans", json={"qr": vpass.qr}, headers=post.headers("officer_a"))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_a_sealed_area_is_applied_by_the_next_scan_on_the_other_instance(client, client_b, post):
    district_wide = post.issue(0, scope=("440304",))  # reaches site A's street only through its district
    _warm(client_b, post, district_wide.qr)
    response = client.put(f"{API}/areas/{SITE_A['area_code']}/risk", json={"level": "sealed", "reason": "封控"},
                          headers=post.headers("futian"))
    assert response.status_code == 200, response.get_json()
    answer = scan(client_b, post, district_wide.qr)
    assert (answer["verdict"], answer["reasons"]) == ("reject", ["sealed_zone"])


def test_a_controlled_area_shortens_the_test_age_at_the_next_scan_on_the_other_instance(client, client_b, post):
    aging_driver = post.issue(1, drivers=(1,))  # the driver's negative test is 30 hours old: good for 72
    _warm(client_b, post, aging_driver.qr)
    response = client.put(f"{API}/areas/{SITE_A['area_code']}/risk", json={"level": "controlled", "reason": "管控"},
                          headers=post.headers("futian"))
    assert response.status_code == 200, response.get_json()
    answer = scan(client_b, post, aging_driver.qr)
    assert (answer["verdict"], answer["reasons"]) == ("reject", ["test_stale"])


def test_a_positive_test_recorded_on_one_instance_is_applied_by_the_next_scan_on_the_other(client, client_b, post):
    vpass = post.issue(0)
    _warm(client_b, post, vpass.qr)
    response = client.post(f"{API}/health-tests", json=health_test(DRIVER_IDS[0], result="positive", hours_ago=0.5),
                           headers=post.headers("health"))
    assert response.status_code == 201, response.get_json()
    answer = scan(client_b, post, vpass.qr)
    assert answer["verdict"] == "reject" and "test_positive" in answer["reasons"]


def test_a_moved_site_is_used_by_the_next_clone_check_on_the_other_instance(client, client_b, post):
    t = clock()
    issued = t - timedelta(hours=1)
    warm_a, warm_b = post.issue(2, scope=("440300",), at=issued), post.issue(3, scope=("440300",), at=issued)
    vpass = post.issue(0, scope=("440300",), at=issued)
    _warm(client_b, post, warm_a.qr)  # both sites are now in instance B's site cache
    _warm(client_b, post, warm_b.qr, who="officer_b")
    # Site A moves next to site B: 38 km in 5 minutes is no longer a clone, a few hundred metres is not.
    response = client.patch(f"{API}/sites/{post.site_ids['a']}", json={"lat": SITE_B["lat"] + 0.001,
                                                                        "lon": SITE_B["lon"]},
                            headers=post.headers("admin"))
    assert response.status_code == 200, response.get_json()
    assert distance_km(SITE_A["lat"], SITE_A["lon"], SITE_B["lat"], SITE_B["lon"]) > 35
    assert scan(client_b, post, vpass.qr, scanned_at=t - timedelta(minutes=10))["verdict"] == "accept"
    after_move = scan(client_b, post, vpass.qr, who="officer_b", scanned_at=t - timedelta(minutes=5))
    assert (after_move["verdict"], after_move["reasons"]) == ("accept", [])


def test_a_renamed_firm_is_in_the_next_answer_on_the_other_instance(client_b, post, session):
    vpass = post.issue(0)
    assert _warm(client_b, post, vpass.qr)["pass"]["firm"] != "改名 Renamed Ltd"
    firm = session.get(Firm, post.firm_id)
    firm.name = "改名 Renamed Ltd"
    session.commit()
    assert scan(client_b, post, vpass.qr)["pass"]["firm"] == "改名 Renamed Ltd"

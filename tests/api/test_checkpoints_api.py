"""API tests for checkpoints: sites, risk levels and the policy (and its signed bundle), health tests,
online scans with every online-only reason, idempotent uploads, clone alerts, scan records, and the
status list's test-freshness entries."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from checkpoints.models import HealthTest, Scan, Site
from passes import models
from checkpoints.services import distance_km
from passes.verifier import load_policy, load_trust_list
from tests.api.checkpoint_helpers import (DRIVER_IDS, DRIVER_NAMES, FIRM_NAME, KENGZI, NANYUAN, PLATES, SITE_A,
                                          SITE_B, build_post, clock, health_test, listing, scan)
from tests.api.helpers import API, as_text, assert_problem, audit_rows, count, fetch
from tests.api.pass_helpers import decode_status_list, entry, trust_list, usable_keys
from whitelist.models import EntryStatus, Person

REFERENCE = {"LMC_HG": ("440304", False), "SZB": ("440305", True), "MKT_WJD": ("440303", True),
             "HYW_LT": ("440303008", True), "STK": ("440308003", False)}


@pytest.fixture
def post(session, areas, cipher, app, now):
    return build_post(session, areas, cipher, app.extensions["keyring"], now)


def _put_risk(client, post, code, level, who="futian", reason="疫情 outbreak"):
    return client.put(f"{API}/areas/{code}/risk", json={"level": level, "reason": reason}, headers=post.headers(who))


# ---- sites -----------------------------------------------------------------------------------------

def test_the_five_reference_crossings_exist_and_huanggang_no_longer_clears_goods(client, post):
    crossings = listing(client, post, "sites", "admin", kind="crossing")
    assert {s["ref_code"]: (s["area_code"], s["active"]) for s in crossings} == REFERENCE
    huanggang = next(s for s in crossings if s["ref_code"] == "LMC_HG")
    assert "皇岗" in huanggang["name"] and huanggang["kind"] == "crossing" and huanggang["capacity"] is None
    assert (huanggang["lat"], huanggang["lon"]) == (22.5185, 114.0733)


def test_a_regulator_adds_a_site_in_its_area_and_it_is_audited(client, session, post):
    data = dict(name="园岭检查站", kind="checkpoint", area_code="440304002", lat=22.55, lon=114.1)
    response = client.post(f"{API}/sites", json=data, headers=post.headers("futian"))
    assert response.status_code == 201
    body = response.get_json()
    assert body == {**data, "id": body["id"], "capacity": None, "ref_code": None, "active": True}
    row = fetch(session, select(Site).where(Site.id == body["id"])).scalar_one()
    assert (row.name, row.area_code, row.kind.value) == ("园岭检查站", "440304002", "checkpoint")
    [audit] = audit_rows(session, action="site.created", object_id=body["id"])
    assert audit.actor_name == "监管 futian" and audit.changes["area_code"] == "440304002"


def test_a_site_outside_the_regulators_area_is_a_403_and_a_yard_needs_its_capacity(client, session, post):
    before = count(session, Site)
    outside = dict(name="南头检查站", kind="checkpoint", area_code="440305001", lat=22.54, lon=113.92)
    assert_problem(client.post(f"{API}/sites", json=outside, headers=post.headers("futian")), 403, "forbidden")
    assert_problem(client.post(f"{API}/sites", json=outside, headers=post.headers("officer_a")), 403)
    yard = dict(name="福田接驳场", kind="relay_yard", area_code="440304", lat=22.52, lon=114.05)
    body = assert_problem(client.post(f"{API}/sites", json=yard, headers=post.headers("futian")), 422)
    assert list(body["errors"]) == ["capacity"]
    assert count(session, Site) == before
    response = client.post(f"{API}/sites", json={**yard, "capacity": 40}, headers=post.headers("futian"))
    assert response.status_code == 201 and response.get_json()["capacity"] == 40


def test_sites_are_listed_within_the_callers_area_and_filtered_by_kind_and_area(client, post):
    futian = listing(client, post, "sites", "futian")
    assert {s["ref_code"] or s["name"] for s in futian} == {"LMC_HG", SITE_A["name"]}
    assert [s["name"] for s in listing(client, post, "sites", "futian", kind="checkpoint")] == [SITE_A["name"]]
    assert [s["id"] for s in listing(client, post, "sites", "admin", area="440310")] == [post.site_ids["b"]]
    assert {s["ref_code"] for s in listing(client, post, "sites", "auditor", area="440303")} == {"MKT_WJD", "HYW_LT"}
    assert listing(client, post, "sites", "pingshan", kind="crossing") == []


# ---- risk levels and policy ----------------------------------------------------------------------------

def test_risk_levels_keep_their_history_newest_first_and_are_audited(client, session, post):
    first = _put_risk(client, post, NANYUAN, "controlled", reason="两例 two cases")
    assert first.status_code == 200
    assert {k: first.get_json()[k] for k in ("area_code", "level", "reason", "set_by")} == {
        "area_code": NANYUAN, "level": "controlled", "reason": "两例 two cases", "set_by": "监管 futian"}
    assert _put_risk(client, post, NANYUAN, "sealed", who="city").status_code == 200
    history = client.get(f"{API}/areas/{NANYUAN}/risk").get_json()
    assert [(h["level"], h["set_by"]) for h in history] == [("sealed", "监管 city"), ("controlled", "监管 futian")]
    assert [a.changes["level"] for a in audit_rows(session, action="area.risk_set", object_id=NANYUAN)] == [
        ["normal", "controlled"], ["controlled", "sealed"]]
    assert client.get(f"{API}/policy").get_json()["risk"] == {NANYUAN: "sealed"}


def test_only_a_regulator_of_the_area_sets_its_risk_level(client, session, post):
    assert_problem(_put_risk(client, post, NANYUAN, "sealed", who="nanshan"), 403, "forbidden")
    assert_problem(_put_risk(client, post, "440304", "sealed", who="officer_a"), 403)
    assert_problem(_put_risk(client, post, "440300", "sealed", who="futian"), 403)
    assert_problem(_put_risk(client, post, "440399", "sealed", who="city"), 422)
    assert list(assert_problem(_put_risk(client, post, NANYUAN, "red"), 422)["errors"]) == ["level"]
    assert client.get(f"{API}/areas/{NANYUAN}/risk").get_json() == []
    assert audit_rows(session, action="area.risk_set") == []


def test_the_policy_defaults_and_only_a_city_regulator_changes_it(client, session, post):
    policy = client.get(f"{API}/policy").get_json()
    assert policy["max_test_age_hours"] == {"normal": 72, "precaution": 48, "controlled": 24, "sealed": 24}
    assert (policy["tests_required"], policy["risk"]) == (True, {})
    change = {"max_test_age_hours": {"normal": 96, "controlled": 12}}
    assert_problem(client.put(f"{API}/policy", json=change, headers=post.headers("futian")), 403, "forbidden")
    assert_problem(client.put(f"{API}/policy", json=change, headers=post.headers("health")), 403)
    response = client.put(f"{API}/policy", json=change, headers=post.headers("city"))
    assert response.status_code == 200
    expected = {"normal": 96, "precaution": 48, "controlled": 12, "sealed": 24}
    assert response.get_json()["max_test_age_hours"] == expected
    assert client.get(f"{API}/policy").get_json()["max_test_age_hours"] == expected
    assert response.get_json()["version"] > policy["version"]
    [audit] = audit_rows(session, action="policy.updated")
    assert audit.actor_name == "监管 city" and audit.changes["after"]["max_test_age_hours"] == {"normal": 96,
                                                                                                "controlled": 12}


def test_the_policy_bundle_verifies_with_the_trust_list_and_carries_the_risk_levels(client, post):
    assert _put_risk(client, post, NANYUAN, "sealed").status_code == 200
    assert _put_risk(client, post, "440310", "controlled", who="pingshan").status_code == 200
    response = client.get(f"{API}/policy-bundle")
    assert response.status_code == 200 and response.mimetype == "application/cose"
    policy = load_policy(response.data, load_trust_list({"keys": trust_list(client)}))
    assert {code: level.label for code, level in policy.risk.items()} == {NANYUAN: "sealed", "440310": "controlled"}
    assert {level.label: h for level, h in policy.max_test_age_hours.items()} == {
        "normal": 72, "precaution": 48, "controlled": 24, "sealed": 24}
    assert policy.version == client.get(f"{API}/policy").get_json()["version"] and policy.tests_required
    assert policy.level_at(KENGZI).label == "controlled" and policy.parents[NANYUAN] == "440304"
    unchanged = client.get(f"{API}/policy-bundle", headers={"If-None-Match": response.headers["ETag"]})
    assert unchanged.status_code == 304


# ---- health tests ------------------------------------------------------------------------------------

def test_only_the_health_role_records_results_and_a_bad_id_number_is_a_422(client, session, post):
    data = health_test(DRIVER_IDS[2])
    before = count(session, HealthTest)
    assert_problem(client.post(f"{API}/health-tests", json=data), 401)
    for who in ("officer_a", "city", "admin"):
        assert_problem(client.post(f"{API}/health-tests", json=data, headers=post.headers(who)), 403)
    wrong = {**data, "id_number": DRIVER_IDS[2][:-1] + ("1" if DRIVER_IDS[2][-1] != "1" else "2")}
    body = assert_problem(client.post(f"{API}/health-tests", json=wrong, headers=post.headers("health")), 422)
    assert list(body["errors"]) == ["id_number"]
    assert count(session, HealthTest) == before
    response = client.post(f"{API}/health-tests", json=data, headers=post.headers("health"))
    assert response.status_code == 201
    assert response.get_json() == {"recorded": 1, "people_suspended": [], "passes_suspended": []}
    stored = fetch(session, select(HealthTest).order_by(HealthTest.id.desc())).scalars().first()
    assert (stored.result.value, stored.recorded_by) == ("negative", "health account")
    assert DRIVER_IDS[2] not in " ".join(as_text(v) for v in (stored.person_hash, stored.lab, stored.recorded_by))


def test_a_positive_result_suspends_the_person_and_their_active_passes_at_once(client, session, post):
    mine, other = post.issue(0, drivers=(0, 1)), post.issue(1, drivers=(1,))
    response = client.post(f"{API}/health-tests", json=health_test(DRIVER_IDS[0], result="positive"),
                           headers=post.headers("health"))
    assert response.status_code == 201
    assert response.get_json() == {"recorded": 1, "people_suspended": [post.driver_ids[0]],
                                   "passes_suspended": [mine.id]}
    passes = {p.id: p for p in fetch(session, select(models.VehiclePass.__table__)).mappings()}
    assert (passes[mine.id]["status"], passes[mine.id]["suspension_cause"]) == ("suspended", "positive_test")
    assert passes[other.id]["status"] == "active"
    assert fetch(session, select(Person.status).where(Person.id == post.driver_ids[0])).scalar_one() \
        is EntryStatus.SUSPENDED
    assert [a.changes["status"] for a in audit_rows(session, action="pass.suspended", object_id=mine.id)] == [
        ["active", "suspended"]]
    assert len(audit_rows(session, action="person.suspended", object_id=post.driver_ids[0])) == 1
    assert audit_rows(session, action="health_tests.recorded")[-1].changes["passes_suspended"] == [mine.id]
    later = client.post(f"{API}/health-tests", json=health_test(DRIVER_IDS[0], hours_ago=0.1),
                        headers=post.headers("health"))
    assert later.get_json() == {"recorded": 1, "people_suspended": [], "passes_suspended": []}
    assert fetch(session, select(models.VehiclePass.status).where(models.VehiclePass.id == mine.id)).scalar_one() \
        is models.PassStatus.SUSPENDED
    assert fetch(session, select(Person.status).where(Person.id == post.driver_ids[0])).scalar_one() \
        is EntryStatus.SUSPENDED


def _csv(*rows: str) -> bytes:
    return ("\r\n".join(["id_type,id_number,sampled_at,result,lab", *rows]) + "\r\n").encode()


def test_a_csv_batch_is_recorded_whole_or_not_at_all(client, session, post):
    at = (clock() - timedelta(hours=2)).isoformat()
    good = [f"cn_resident_id,{DRIVER_IDS[2]},{at},negative,Lab 1",
            f"cn_resident_id,{DRIVER_IDS[1]},{at},negative,Lab 2"]
    before = count(session, HealthTest)
    bad = _csv(good[0], f"cn_resident_id,{DRIVER_IDS[1][:-1]}0,{at},negative,Lab 2", f"bogus_id,X,{at},maybe,")
    body = assert_problem(client.post(f"{API}/health-tests/import", data=bad, content_type="text/csv",
                                      headers=post.headers("health")), 422)
    assert sorted((e["row"], e["column"]) for e in body["errors"]) == [
        (3, "id_number"), (4, "id_type"), (4, "lab"), (4, "result")]
    assert count(session, HealthTest) == before
    missing = _csv().replace(b",lab", b"")
    assert assert_problem(client.post(f"{API}/health-tests/import", data=missing, content_type="text/csv",
                                      headers=post.headers("health")), 422)["errors"][0]["column"] == "lab"
    assert_problem(client.post(f"{API}/health-tests/import", json={}, headers=post.headers("health")), 415)
    response = client.post(f"{API}/health-tests/import", data=_csv(*good), content_type="text/csv",
                           headers=post.headers("health"))
    assert response.status_code == 201 and response.get_json()["recorded"] == 2
    assert count(session, HealthTest) == before + 2


# ---- online scans ---------------------------------------------------------------------------------------

def test_an_officer_scan_accepts_a_valid_pass_and_shows_what_to_compare(client, session, post):
    vpass = post.issue(0, drivers=(0, 1))
    answer = scan(client, post, vpass.qr, plate_seen="粤b·20001", client_scan_id="dev-1")
    assert (answer["verdict"], answer["reasons"], answer["site_id"]) == ("accept", [], post.site_ids["a"])
    assert answer["pass"] == {
        "id": vpass.id, "plate": PLATES[0], "hk_plate": "AB1234",
        "scope": [{"code": NANYUAN, "name_zh": "南园街道", "name_en": "Nanyuan Subdistrict"}],
        "valid_until": answer["pass"]["valid_until"], "firm": FIRM_NAME,
        "drivers": [{"name": DRIVER_NAMES[i], "id_number": DRIVER_IDS[i][:4] + "*" * 10 + DRIVER_IDS[i][-4:]}
                    for i in (0, 1)]}
    assert answer["pass"]["valid_until"][:19] == vpass.valid_until.isoformat()[:19]
    assert scan(client, post, vpass.qr, plate_seen="ab 1234")["verdict"] == "accept"
    [first, _] = fetch(session, select(Scan).order_by(Scan.id)).scalars()
    assert (first.id, first.pass_id, first.serial, first.site_id, first.verdict.value, first.reasons,
            first.client_scan_id) == (answer["scan_id"], vpass.id, vpass.serial, post.site_ids["a"], "accept", [],
                                      "dev-1")


def test_only_an_officer_posts_scans_and_garbage_is_a_recorded_malformed_verdict(client, session, post):
    assert_problem(client.post(f"{API}/scans", json={"qr": "x"}), 401)
    for who in ("city", "health", "firm"):
        assert_problem(client.post(f"{API}/scans", json={"qr": "x"}, headers=post.headers(who)), 403)
    answer = scan(client, post, "GL1:garbage")
    assert (answer["verdict"], answer["reasons"], answer["pass"]) == ("reject", ["malformed"], None)
    [row] = fetch(session, select(Scan)).scalars()
    assert (row.pass_id, row.reasons) == (None, ["malformed"])


def test_a_pass_whose_only_driver_has_no_test_is_test_missing(client, post):
    answer = scan(client, post, post.issue(0, drivers=(2,)).qr)
    assert (answer["verdict"], answer["reasons"]) == ("reject", ["test_missing"])


def test_a_30_hour_old_test_is_fresh_in_a_normal_area_and_stale_in_a_controlled_one(client, post):
    qr = post.issue(0, drivers=(1,)).qr
    assert scan(client, post, qr)["verdict"] == "accept"
    assert _put_risk(client, post, "440304", "precaution").status_code == 200
    assert scan(client, post, qr)["verdict"] == "accept"  # 48 h
    assert _put_risk(client, post, "440304", "controlled").status_code == 200
    assert scan(client, post, qr)["reasons"] == ["test_stale"]  # 24 h, set on the district above the site
    assert scan(client, post, post.issue(1, drivers=(0, 1)).qr)["verdict"] == "accept"  # one fresh driver is enough


def test_a_positive_driver_is_rejected_as_suspended_and_test_positive(client, post):
    vpass = post.issue(0, drivers=(0,))
    assert client.post(f"{API}/health-tests", json=health_test(DRIVER_IDS[0], result="positive"),
                       headers=post.headers("health")).status_code == 201
    assert scan(client, post, vpass.qr)["reasons"] == ["suspended", "test_positive"]


def test_a_pass_accepted_at_two_sites_too_far_apart_is_clone_suspected_and_alerted(client, session, post):
    assert 35 < distance_km(SITE_A["lat"], SITE_A["lon"], SITE_B["lat"], SITE_B["lon"]) < 45
    t = clock()  # the drivers' test was sampled an hour ago: scans before it would be test_missing
    issued = t - timedelta(hours=1)  # scans dated before the pass was issued are refused
    vpass, slow = post.issue(0, scope=("440300",), at=issued), post.issue(1, scope=("440300",), at=issued)
    assert scan(client, post, vpass.qr, scanned_at=t - timedelta(minutes=10))["verdict"] == "accept"
    clone = scan(client, post, vpass.qr, who="officer_b", scanned_at=t - timedelta(minutes=5))
    assert (clone["verdict"], clone["reasons"]) == ("reject", ["clone_suspected"])
    # 38 km in 30 minutes is 76 km/h: plausible, in either order of upload.
    assert scan(client, post, slow.qr, who="officer_b", scanned_at=t - timedelta(minutes=20))["verdict"] == "accept"
    assert scan(client, post, slow.qr, scanned_at=t - timedelta(minutes=50))["verdict"] == "accept"
    [alert] = listing(client, post, "alerts", "city", kind="clone_suspected")
    assert (alert["subject_type"], alert["subject_id"], alert["area_code"]) == ("pass", vpass.id, KENGZI)
    assert alert["details"]["sites"] == [post.site_ids["a"], post.site_ids["b"]]
    assert alert["details"]["scan_id"] == clone["scan_id"] and alert["acknowledged_at"] is None
    assert listing(client, post, "alerts", "pingshan") == [alert]
    assert listing(client, post, "alerts", "futian") == []
    assert len(audit_rows(session, action="alert.clone_suspected", object_id=vpass.id)) == 1


def test_a_repeated_client_scan_id_returns_the_first_answer_and_records_nothing(client, session, post):
    vpass = post.issue(0)
    first = scan(client, post, vpass.qr, client_scan_id="phone-7/0001")
    again = scan(client, post, "GL1:different", client_scan_id="phone-7/0001", plate_seen="粤B00000")
    assert again == first and first["client_scan_id"] == "phone-7/0001"
    assert count(session, Scan) == 1
    other_officer = scan(client, post, vpass.qr, who="officer_b", client_scan_id="phone-7/0001")
    assert other_officer["scan_id"] != first["scan_id"] and count(session, Scan) == 2


def test_a_scan_time_in_the_future_is_a_422_and_nothing_is_recorded(client, session, post):
    qr = post.issue(0).qr
    body = assert_problem(client.post(f"{API}/scans", json={"qr": qr, "scanned_at": (
        clock() + timedelta(minutes=10)).isoformat()}, headers=post.headers("officer_a")), 422)
    assert list(body["errors"]) == ["scanned_at"] and count(session, Scan) == 0
    assert scan(client, post, qr, scanned_at=clock() + timedelta(minutes=2))["verdict"] == "accept"


def test_a_long_plate_reading_is_still_a_verdict(client, post):
    answer = scan(client, post, post.issue(0).qr, plate_seen="粤B20001 粤B20001 xyz")
    assert answer["reasons"] == ["plate_mismatch"]


# ---- scan records --------------------------------------------------------------------------------------

def test_scan_records_are_filtered_and_limited_to_the_regulators_area(client, session, post):
    t = clock() - timedelta(minutes=55)
    near, far = post.issue(0, scope=("440300",), at=t), post.issue(1, scope=("440300",), at=t)
    scan(client, post, near.qr, scanned_at=t)
    scan(client, post, far.qr, scanned_at=t + timedelta(minutes=5))
    scan(client, post, far.qr, who="officer_b", scanned_at=t + timedelta(minutes=45))
    everything = listing(client, post, "scans", "auditor")
    assert [(s["pass_id"], s["site_id"]) for s in everything] == [
        (far.id, post.site_ids["b"]), (far.id, post.site_ids["a"]), (near.id, post.site_ids["a"])]
    assert set(everything[0]) == {"id", "site_id", "pass_id", "serial", "plate_seen", "scanned_at", "received_at",
                                  "verdict", "reasons"}
    assert [s["site_id"] for s in listing(client, post, "scans", "auditor", pass_id=far.id)] == [
        post.site_ids["b"], post.site_ids["a"]]
    assert [s["pass_id"] for s in listing(client, post, "scans", "admin", site_id=post.site_ids["a"])] == [
        far.id, near.id]
    window = {"from": (t + timedelta(minutes=2)).isoformat(), "to": (t + timedelta(minutes=20)).isoformat()}
    assert [s["pass_id"] for s in listing(client, post, "scans", "auditor", **window)] == [far.id]
    assert {s["site_id"] for s in listing(client, post, "scans", "futian")} == {post.site_ids["a"]}
    assert [s["site_id"] for s in listing(client, post, "scans", "pingshan")] == [post.site_ids["b"]]
    assert listing(client, post, "scans", "nanshan") == []
    assert_problem(client.get(f"{API}/scans", headers=post.headers("officer_a")), 403)
    rows = fetch(session, select(Scan.__table__)).mappings().all()
    assert len(rows) == 3
    people = fetch(session, select(Person.id_hash, Person.id_masked, Person.name)).all()
    text = " ".join(as_text(v) for row in rows for v in row.values())
    for secret in [*DRIVER_IDS, *(v for person in people for v in person)]:
        assert secret not in text


# ---- status list: test freshness for offline devices ------------------------------------------------

def test_the_status_list_suspends_a_pass_until_its_only_driver_has_a_fresh_negative_test(client, post):
    untested, aging = post.issue(0, drivers=(2,)), post.issue(1, drivers=(1,))
    keys = usable_keys(trust_list(client))
    before, bits = decode_status_list(client.get(f"{API}/status-list").data, keys)
    assert (entry(bits, untested.serial), entry(bits, aging.serial)) == (1, 0)
    assert client.post(f"{API}/health-tests", json=health_test(DRIVER_IDS[2]),
                       headers=post.headers("health")).status_code == 201
    after, bits = decode_status_list(client.get(f"{API}/status-list").data, keys)
    assert entry(bits, untested.serial) == 0 and after[1] > before[1]


def test_without_required_tests_an_untested_driver_is_accepted_online(client, post):
    vpass = post.issue(0, drivers=(2,))
    keys = usable_keys(trust_list(client))
    assert entry(decode_status_list(client.get(f"{API}/status-list").data, keys)[1], vpass.serial) == 1
    response = client.put(f"{API}/policy", json={"max_test_age_hours": {}, "tests_required": False},
                          headers=post.headers("city"))
    assert response.status_code == 200 and response.get_json()["tests_required"] is False
    assert scan(client, post, vpass.qr)["verdict"] == "accept"
    # The status list side is checked with a fixed clock in tests/integration/test_verifier_parity.py.

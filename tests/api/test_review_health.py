"""Issue 13 item 3: health status follows the person across the city (by the keyed hash of the identity
number), and the latest result wins everywhere: application, approval, reinstatement, the signed status
list (so the offline verifier agrees) and the online scan."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import counters
from core.audit import AuditEntry
from checkpoints.models import HealthTest, TestResult as Result
from passes import models
from passes.verifier import main as offline_verifier
from tests.api.checkpoint_helpers import DRIVER_IDS, DRIVER_NAMES, NANYUAN, build_post, clock, health_test, scan
from tests.api.helpers import API, assert_problem, audit_rows, count, fetch, person_json
from tests.api.pass_helpers import decode_status_list, entry, trust_list, usable_keys
from tests.factories import USCC, bearer, make_firm
from whitelist import identifiers as ids
from whitelist.models import EntryStatus, Person

FIRM_B = "深圳市福田果蔬批发有限公司"
POSITIVE_PROBLEM = "driver_tested_positive"


@pytest.fixture
def post(session, areas, cipher, app, now):
    return build_post(session, areas, cipher, app.extensions["keyring"], now)


@pytest.fixture
def firm_b(client, session, areas, now, post):
    """A second approved Futian firm (through the factory), its token, and a vehicle it registered."""
    firm, token = make_firm(session, areas, now, name=FIRM_B, uscc=USCC[1])
    response = client.post(f"{API}/vehicles", json={"plate": "粤B30001", "kind": "van"}, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return {"id": firm.id, "token": token, "vehicle_id": response.get_json()["id"]}


def _register_again(client, firm_b) -> dict:
    """Firm B registers the same identity number as firm A's driver 0."""
    response = client.post(f"{API}/people", json=person_json(name=DRIVER_NAMES[0], id_number=DRIVER_IDS[0]),
                           headers=bearer(firm_b["token"]))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _apply(client, firm_b, driver_id: int):
    start = clock() - timedelta(hours=1)
    return client.post(f"{API}/passes", json={
        "vehicle_id": firm_b["vehicle_id"], "driver_ids": [driver_id], "category": "vegetables", "scope": [NANYUAN],
        "valid_from": start.isoformat(), "valid_until": (start + timedelta(days=3)).isoformat(),
        "purpose": "蔬菜配送 vegetable delivery"}, headers=bearer(firm_b["token"]))


def _record(client, post, id_number: str, result: str, hours_ago: float):
    response = client.post(f"{API}/health-tests", json=health_test(id_number, result=result, hours_ago=hours_ago),
                           headers=post.headers("health"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _offline(client, tmp_path, capsys, qr: str) -> tuple[int, dict]:
    """The offline verifier (python -m passes.verifier) on the four files a device syncs."""
    for name, path in (("trust", "trust-list/signed"), ("status", "status-list"), ("policy", "policy-bundle"),
                       ("ages", "test-ages")):
        (tmp_path / f"{name}.cose").write_bytes(client.get(f"{API}/{path}").data)
    capsys.readouterr()
    code = offline_verifier(["--trust-list", str(tmp_path / "trust.cose"), "--status-list",
                             str(tmp_path / "status.cose"), "--policy", str(tmp_path / "policy.cose"),
                             "--test-ages", str(tmp_path / "ages.cose"), "--state", str(tmp_path / "state.json"),
                             "--area", NANYUAN, qr])
    return code, json.loads(capsys.readouterr().out)


def _status_entry(client, serial: int) -> int:
    return entry(decode_status_list(client.get(f"{API}/status-list").data, usable_keys(trust_list(client)))[1],
                 serial)


def _pass_row(session, pass_id: str):
    return fetch(session, select(models.VehiclePass.__table__).where(models.VehiclePass.id == pass_id)).mappings().one()


def _add_test(session, cipher, id_number: str, result: str, hours_ago: float):
    """A result stored as it is at the end of POST /health-tests, but without the suspensions that call makes:
    the state left when a result arrives while an approval is in flight (the approval has not committed, so
    record_tests finds no active pass to stop)."""
    session.add(HealthTest(person_hash=cipher.blind_index(ids.person_key("cn_resident_id", id_number)),
                                  sampled_at=clock() - timedelta(hours=hours_ago), result=Result(result),
                                  lab="test lab", recorded_at=clock(), recorded_by="test"))
    counters.next_value(session, counters.STATUS_LIST_VERSION)  # as record_tests does: the list must change
    session.commit()


# ---- the two-firm re-registration story ---------------------------------------------------------------

def test_a_driver_who_tested_positive_at_firm_a_gets_no_pass_from_firm_b(client, session, post, firm_b):
    _record(client, post, DRIVER_IDS[0], "positive", hours_ago=0.5)  # firm A's driver 0 (fresh negative before)
    again = _register_again(client, firm_b)
    assert again["status"] == "active"  # the white list starts active; the pass rules stop them
    passes_before, audit_before = count(session, models.VehiclePass), count(session, AuditEntry)
    body = assert_problem(_apply(client, firm_b, again["id"]), 422, POSITIVE_PROBLEM)
    assert DRIVER_NAMES[0] in body["detail"] and str(again["id"]) in body["detail"]
    assert body["errors"] == {"driver_ids": [f"{again['id']}: the latest health test result is positive"]}
    assert body["details"] == {"driver_ids": [again["id"]]}
    assert (count(session, models.VehiclePass), count(session, AuditEntry)) == (passes_before, audit_before)


def test_approving_a_pass_whose_driver_is_positive_elsewhere_is_refused_and_writes_nothing(client, session, post,
                                                                                             firm_b):
    again = _register_again(client, firm_b)
    pending = _apply(client, firm_b, again["id"])
    assert pending.status_code == 201, pending.get_json()
    pass_id = pending.get_json()["id"]
    assert _record(client, post, DRIVER_IDS[0], "positive", hours_ago=0.5)["people_suspended"] == sorted(
        [post.driver_ids[0], again["id"]])  # every firm's record of the person
    # A regulator lifts firm B's record of the person (by mistake): the positive result still follows them.
    assert client.post(f"{API}/people/{again['id']}/reinstate", json={"reason": "误操作 mistake"},
                       headers=post.headers("futian")).status_code == 200
    audit_before = count(session, AuditEntry)
    body = assert_problem(client.post(f"{API}/passes/{pass_id}/approve", headers=post.headers("city")), 422,
                          POSITIVE_PROBLEM)
    assert DRIVER_NAMES[0] in body["detail"]
    row = _pass_row(session, pass_id)
    assert (row["status"], row["serial"], row["qr"], row["approved_at"]) == ("pending", None, None, None)
    assert count(session, AuditEntry) == audit_before
    assert audit_rows(session, action="pass.approved", object_id=pass_id) == []


def test_a_pass_approved_before_the_positive_arrived_is_rejected_offline(client, session, cipher, post, firm_b,
                                                                         tmp_path, capsys):
    again = _register_again(client, firm_b)
    pass_id = _apply(client, firm_b, again["id"]).get_json()["id"]
    approved = client.post(f"{API}/passes/{pass_id}/approve", headers=post.headers("city"))
    assert approved.status_code == 200, approved.get_json()
    qr, serial = approved.get_json()["qr"], approved.get_json()["serial"]
    code, verdict = _offline(client, tmp_path, capsys, qr)
    assert (code, verdict["verdict"], verdict["reasons"]) == (0, "accept", [])
    _add_test(session, cipher, DRIVER_IDS[0], "positive", hours_ago=0.2)  # firm A's lab, during the approval
    assert _pass_row(session, pass_id)["status"] == "active"
    assert _status_entry(client, serial) == 1
    code, verdict = _offline(client, tmp_path, capsys, qr)
    assert (code, verdict["verdict"], verdict["reasons"]) == (1, "reject", ["suspended"])
    online = scan(client, post, qr)
    assert (online["verdict"], online["reasons"]) == ("reject", ["test_positive"])


# ---- the latest result wins ------------------------------------------------------------------------------

@pytest.mark.parametrize("first,then,status,online", [
    ("negative", "positive", 1, ["test_positive"]),
    ("positive", "negative", 0, []),
])
def test_the_latest_result_decides_the_status_list_and_the_scan_alike(client, session, cipher, post, first, then,
                                                                       status, online):
    vpass = post.issue(0, drivers=(2,))  # driver 2 has no test yet
    _add_test(session, cipher, DRIVER_IDS[2], first, hours_ago=3)
    _add_test(session, cipher, DRIVER_IDS[2], then, hours_ago=2)
    assert _status_entry(client, vpass.serial) == status
    answer = scan(client, post, vpass.qr)
    assert answer["reasons"] == online and answer["verdict"] == ("reject" if online else "accept")


def test_one_positive_driver_stops_a_pass_even_when_the_other_driver_is_fresh(client, session, cipher, post):
    vpass = post.issue(0, drivers=(0, 2))  # driver 0: fresh negative
    _add_test(session, cipher, DRIVER_IDS[2], "positive", hours_ago=1)
    assert _status_entry(client, vpass.serial) == 1
    assert scan(client, post, vpass.qr)["reasons"] == ["test_positive"]


def test_positive_then_negative_lets_the_regulator_bring_the_pass_back(client, session, post, tmp_path, capsys):
    vpass = post.issue(0, drivers=(0,))
    _record(client, post, DRIVER_IDS[0], "positive", hours_ago=0.5)
    assert client.post(f"{API}/people/{post.driver_ids[0]}/reinstate", json={"reason": "误操作 mistake"},
                       headers=post.headers("futian")).status_code == 200
    body = assert_problem(client.post(f"{API}/passes/{vpass.id}/reinstate", json={"reason": "复查 review"},
                                      headers=post.headers("futian")), 422, POSITIVE_PROBLEM)
    assert DRIVER_NAMES[0] in body["detail"]
    assert _pass_row(session, vpass.id)["status"] == "suspended"
    assert audit_rows(session, action="pass.reinstated", object_id=vpass.id) == []
    assert _offline(client, tmp_path, capsys, vpass.qr)[0] == 1

    _record(client, post, DRIVER_IDS[0], "negative", hours_ago=0.1)  # the latest result is negative again
    reinstated = client.post(f"{API}/passes/{vpass.id}/reinstate", json={"reason": "复检阴性 negative again"},
                             headers=post.headers("futian"))
    assert reinstated.status_code == 200 and reinstated.get_json()["status"] == "active"
    assert _pass_row(session, vpass.id)["status"] == "active"
    assert len(audit_rows(session, action="pass.reinstated", object_id=vpass.id)) == 1
    assert _status_entry(client, vpass.serial) == 0
    code, verdict = _offline(client, tmp_path, capsys, vpass.qr)
    assert (code, verdict["verdict"]) == (0, "accept")
    assert scan(client, post, vpass.qr)["verdict"] == "accept"
    assert fetch(session, select(Person.status).where(Person.id == post.driver_ids[0])).scalar_one() \
        is EntryStatus.ACTIVE

"""POST /passes/decisions: a regulator approves or rejects many pending passes at once (issue 10 contract):
items outside its area or no longer pending are refused with their reason; a refusal without confirm
changes nothing (409 problem+json with `refused` and `accepted`); with confirm the rest go through; every
decided pass is audited on its own; a rejection needs a reason."""
import pytest

from checkpoints.lookups import trusted_keys
from core import audit
from core.accounts import Actor, Role
from passes import services
from passes.models import PassStatus, VehiclePass
from passes.policy import Policy
from passes.verifier import check_pass
from tests.api.checkpoint_helpers import NANYUAN, build_post, clock, scan
from tests.api.helpers import API, assert_problem, audit_rows
from tests.factories import pass_data

NANSHAN_STREET = "440305001"


@pytest.fixture
def post(session, areas, cipher, app, now):
    return build_post(session, areas, cipher, app.extensions["keyring"], now)


def _apply(post, vehicle: int, *, scope=(NANYUAN,)) -> str:
    """A pending pass of the post's firm (driver 0, whose test is fresh)."""
    now = clock()
    vpass = services.apply_for_pass(post.session, data=pass_data(
        vehicle_id=post.vehicle_ids[vehicle], driver_ids=[post.driver_ids[0]], now=now, scope=scope),
        actor=Actor(None, "firm", Role.FIRM, firm_id=post.firm_id), areas=post.areas, max_days=7, now=now)
    return vpass.id


def _decide(client, post, who="futian", **body):
    return client.post(f"{API}/passes/decisions", json=body, headers=post.headers(who))


def _status(session, pass_id) -> PassStatus:
    session.expire_all()
    return session.get(VehiclePass, pass_id).status


def test_a_regulator_approves_pending_passes_by_id_each_signed_and_audited_on_its_own(client, session, post):
    ids = [_apply(post, v) for v in range(3)]
    response = _decide(client, post, ids=ids, action="approve")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["approved"], body["rejected"], body["refused"]) == (3, 0, 0)
    assert [i["id"] for i in body["items"]] == ids and {i["outcome"] for i in body["items"]} == {"approved"}
    serials = [i["serial"] for i in body["items"]]
    assert len(set(serials)) == 3 and all(isinstance(s, int) for s in serials)
    for pass_id, serial in zip(ids, serials):
        assert _status(session, pass_id) is PassStatus.ACTIVE
        [entry] = audit_rows(session, action="pass.approved", object_id=pass_id)
        assert entry.changes["serial"] == serial and entry.actor_name == "监管 futian"
    assert audit.verify_chain(session) is None  # the bulk entries extend the hash chain like single ones
    vpass = session.get(VehiclePass, ids[0])
    assert scan(client, post, vpass.qr)["verdict"] == "accept"  # a real, verifiable pass


def test_a_pass_outside_the_regulators_area_refuses_the_whole_request_without_confirm(client, session, post):
    inside, outside = _apply(post, 0), _apply(post, 1, scope=(NANSHAN_STREET,))
    response = _decide(client, post, ids=[inside, outside], action="approve")
    problem = assert_problem(response, 409, "decisions_refused")
    assert problem["refused"] == [{"id": outside, "reason": "outside_area"}] and problem["accepted"] == 1
    assert _status(session, inside) is PassStatus.PENDING and _status(session, outside) is PassStatus.PENDING
    assert audit_rows(session, action="pass.approved") == []


def test_with_confirm_the_others_go_through_and_the_refused_are_listed(client, session, post):
    inside, outside = _apply(post, 0), _apply(post, 1, scope=(NANSHAN_STREET,))
    response = _decide(client, post, ids=[outside, inside, "ZZZZZZZZ"], action="approve", confirm=True)
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [(i["id"], i["outcome"], i["reason"]) for i in items] == [
        (outside, "refused", "outside_area"), (inside, "approved", None), ("ZZZZZZZZ", "refused", "not_found")]
    assert _status(session, inside) is PassStatus.ACTIVE and _status(session, outside) is PassStatus.PENDING


def test_a_pass_no_longer_pending_is_refused_with_its_state(client, session, post):
    approved, pending = _apply(post, 0), _apply(post, 1)
    assert _decide(client, post, ids=[approved], action="approve").status_code == 200
    problem = assert_problem(_decide(client, post, ids=[approved, pending], action="reject", reason="重复 duplicate"),
                             409, "decisions_refused")
    assert problem["refused"] == [{"id": approved, "reason": "not_pending: the pass is active"}]
    assert _status(session, pending) is PassStatus.PENDING
    assert len(audit_rows(session, action="pass.approved", object_id=approved)) == 1  # not approved twice


def test_a_rejection_needs_a_reason_and_records_it_for_every_pass(client, session, post):
    ids = [_apply(post, v) for v in range(2)]
    problem = assert_problem(_decide(client, post, ids=ids, action="reject"), 422)
    assert "reason" in problem["errors"]
    assert assert_problem(_decide(client, post, ids=ids, action="reject", reason="  "), 422)["errors"]["reason"]
    response = _decide(client, post, ids=ids, action="reject", reason="证件不全 papers missing")
    assert response.status_code == 200 and response.get_json()["rejected"] == 2
    for pass_id in ids:
        assert _status(session, pass_id) is PassStatus.REJECTED
        assert session.get(VehiclePass, pass_id).reason == "证件不全 papers missing"
        [entry] = audit_rows(session, action="pass.rejected", object_id=pass_id)
        assert entry.changes == {"status": ["pending", "rejected"], "reason": "证件不全 papers missing"}


def test_a_filter_decides_every_matching_pass_the_regulator_can_see(client, session, post):
    futian = [_apply(post, v) for v in range(2)]
    nanshan = _apply(post, 2, scope=(NANSHAN_STREET,))
    response = _decide(client, post, filter={"status": "pending", "area": "440304"}, action="approve")
    assert response.status_code == 200, response.get_json()
    assert sorted(i["id"] for i in response.get_json()["items"]) == sorted(futian)
    assert _status(session, nanshan) is PassStatus.PENDING
    assert assert_problem(_decide(client, post, filter={"colour": "red"}, action="approve"), 422)


@pytest.mark.parametrize("body", [{"action": "approve"}, {"ids": ["ABCDEFGH"], "filter": {}, "action": "approve"},
                                  {"ids": [], "action": "approve"}, {"ids": ["ABCDEFGH"], "action": "sign"}])
def test_bad_bodies_are_problems(client, post, body):
    assert_problem(_decide(client, post, **body), 422)


@pytest.mark.parametrize("who", ["admin", "firm", "officer_a"])
def test_only_a_regulator_decides_in_bulk(client, session, post, who):
    pass_id = _apply(post, 0)
    assert_problem(_decide(client, post, who=who, ids=[pass_id], action="approve"), 403)
    assert _status(session, pass_id) is PassStatus.PENDING


def test_an_approved_pass_carries_the_claims_a_single_approval_would(client, session, post, app):
    bulk, single = _apply(post, 0), _apply(post, 1)
    assert _decide(client, post, ids=[bulk], action="approve").status_code == 200
    assert client.post(f"{API}/passes/{single}/approve", headers=post.headers("futian")).status_code == 200
    session.expire_all()
    a, b = session.get(VehiclePass, bulk), session.get(VehiclePass, single)
    assert (a.kid, a.approved_at is not None, a.suspension_cause) == (b.kid, True, None)
    policy = Policy(parents=dict(app.extensions["areas"].parents))
    verdict = check_pass(a.qr, keys=trusted_keys(session, cache={}), pass_status=lambda c: 0, site_area=NANYUAN,
                         policy=policy, at=int(clock().timestamp()))
    assert verdict.accept and verdict.claims.serial == a.serial and verdict.claims.pass_id == bulk

"""API tests for firms: registration, jurisdiction, the approval state machine, validation, public lookup."""
import hashlib
import json

import pytest
from sqlalchemy import select, text

from core.accounts import SYSTEM, Account, Role, find_account_by_token, revoke_account
from core.audit import AuditEntry
from tests.api.helpers import (API, as_text, assert_problem, audit_rows, audit_via_api, count, fetch, firm_json,
                               uscc)
from tests.factories import bearer, make_firm, make_token
from whitelist.models import Category, Firm, FirmStatus
from whitelist.services import change_firm_status

FIRM_FIELDS = {"id", "name", "uscc", "category", "area_code", "address", "contact_name", "contact_phone",
               "status", "created_at", "updated_at"}


def _status(session, firm_id) -> FirmStatus:
    return fetch(session, select(Firm.status).where(Firm.id == firm_id)).scalar_one()


def _written(session) -> tuple[int, int, int]:
    return count(session, Firm), count(session, Account), count(session, AuditEntry)


# ---- registration ----------------------------------------------------------------------------------

def test_an_anonymous_application_is_pending_and_returns_a_working_firm_token(client, session, areas, now):
    other, _ = make_firm(session, areas, now, uscc=uscc("MA5G0001"), name="别家公司")
    response = client.post(f"{API}/firms", json=firm_json(contact_phone="138-0013-8000"))
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == FIRM_FIELDS | {"account_token"}
    assert body["status"] == "pending" and body["uscc"] == uscc("MA5G0000")
    assert body["contact_phone"] == "+86 138****8000"  # normalised, then masked (issue 13 item 2)
    assert body["account_token"].startswith("gl_") and len(body["account_token"]) >= 40
    listed = client.get(f"{API}/firms", headers=bearer(body["account_token"]))
    assert [f["id"] for f in listed.get_json()] == [body["id"]]
    assert "account_token" not in listed.get_json()[0]
    assert_problem(client.get(f"{API}/firms/{other.id}", headers=bearer(body["account_token"])), 403)
    entries = audit_rows(session, object_type="firm", object_id=body["id"])
    assert [(e.action, e.actor_role, e.actor_id) for e in entries] == [("firm.registered", "public", None)]
    assert entries[0].changes["status"] == "pending"


def test_the_firm_token_is_stored_only_as_its_hash(client, session):
    token = client.post(f"{API}/firms", json=firm_json()).get_json()["account_token"]
    rows = fetch(session, text("SELECT * FROM accounts")).mappings().all()
    assert len(rows) == 1
    assert all(token not in as_text(value) for value in rows[0].values())
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert rows[0]["role"] == "firm" and rows[0]["firm_id"] is not None
    assert all(token not in as_text(e.changes) for e in audit_rows(session))


def test_a_firm_account_may_not_register_another_firm(client, session, areas, now):
    _, firm_token = make_firm(session, areas, now)
    before = _written(session)
    response = client.post(f"{API}/firms", json=firm_json(uscc=uscc("MA5G0001")), headers=bearer(firm_token))
    assert_problem(response, 403, "forbidden")
    assert _written(session) == before


@pytest.mark.parametrize("regulator_area,firm_area", [
    ("440304", "440304"), ("440304", "440304004"), ("440300", "440305"), ("440304001", "440304001")])
def test_a_regulator_registers_a_firm_in_its_area_approved_at_once(client, session, areas, now,
                                                                    regulator_area, firm_area):
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code=regulator_area)
    response = client.post(f"{API}/firms", json=firm_json(area_code=firm_area), headers=bearer(regulator))
    assert response.status_code == 201
    body = response.get_json()
    assert (body["status"], body["area_code"]) == ("approved", firm_area)
    assert _status(session, body["id"]) is FirmStatus.APPROVED
    [entry] = audit_rows(session, object_type="firm", object_id=body["id"])
    assert (entry.actor_role, entry.changes["status"]) == ("regulator", "approved")
    assert client.get(f"{API}/firms", headers=bearer(body["account_token"])).get_json()[0]["id"] == body["id"]


@pytest.mark.parametrize("regulator_area,firm_area", [
    ("440304", "440305"), ("440304", "440305001"), ("440304001", "440304"), ("440304001", "440304002")])
def test_a_regulator_may_not_register_a_firm_outside_its_area(client, session, areas, now,
                                                              regulator_area, firm_area):
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code=regulator_area)
    before = _written(session)
    response = client.post(f"{API}/firms", json=firm_json(area_code=firm_area), headers=bearer(regulator))
    body = assert_problem(response, 403, "forbidden")
    assert firm_area in body["detail"]
    assert _written(session) == before


# ---- approval and jurisdiction ---------------------------------------------------------------------

@pytest.mark.parametrize("regulator_area,firm_area", [
    ("440304", "440304"), ("440304", "440304004"), ("440300", "440305"), ("440300", "440311001"),
    ("440304001", "440304001")])
def test_a_regulator_approves_a_firm_inside_its_area(client, session, areas, now, regulator_area, firm_area):
    firm, _ = make_firm(session, areas, now, approved=False, area_code=firm_area)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code=regulator_area)
    response = client.post(f"{API}/firms/{firm.id}/approve", headers=bearer(regulator))
    assert response.status_code == 200
    assert response.get_json()["status"] == "approved"
    assert _status(session, firm.id) is FirmStatus.APPROVED


@pytest.mark.parametrize("regulator_area,firm_area", [
    ("440304", "440305"), ("440304", "440305001"), ("440304001", "440304"), ("440304001", "440304002")])
def test_a_regulator_may_not_approve_a_firm_outside_its_area(client, session, areas, now,
                                                             regulator_area, firm_area):
    firm, _ = make_firm(session, areas, now, approved=False, area_code=firm_area)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code=regulator_area)
    before = count(session, AuditEntry)
    body = assert_problem(client.post(f"{API}/firms/{firm.id}/approve", headers=bearer(regulator)), 403)
    assert "jurisdiction" in body["detail"]
    assert _status(session, firm.id) is FirmStatus.PENDING
    assert count(session, AuditEntry) == before


@pytest.mark.parametrize("role", [Role.FIRM, Role.OFFICER, Role.YARD, Role.HEALTH, Role.AUDITOR])
def test_roles_other_than_regulator_and_admin_may_not_approve(client, session, areas, now, role):
    firm, firm_token = make_firm(session, areas, now, approved=False)
    token = firm_token if role is Role.FIRM else make_token(
        session, areas, now, role, site_id=1 if role in (Role.OFFICER, Role.YARD) else None)
    body = assert_problem(client.post(f"{API}/firms/{firm.id}/approve", headers=bearer(token)), 403, "forbidden")
    assert role.value in body["detail"]
    assert _status(session, firm.id) is FirmStatus.PENDING


def test_an_admin_approves_anywhere(client, session, areas, now):
    firm, _ = make_firm(session, areas, now, approved=False, area_code="440311006")
    admin = make_token(session, areas, now, Role.ADMIN)
    assert client.post(f"{API}/firms/{firm.id}/approve", headers=bearer(admin)).get_json()["status"] == "approved"


@pytest.mark.parametrize("headers", [{}, bearer("gl_" + "Z" * 43), {"Authorization": "Basic eDp5"}])
def test_approval_without_a_valid_token_is_a_401(client, session, areas, now, headers):
    firm, _ = make_firm(session, areas, now, approved=False)
    assert_problem(client.post(f"{API}/firms/{firm.id}/approve", headers=headers), 401, "unauthorized")
    assert _status(session, firm.id) is FirmStatus.PENDING


def test_approval_with_a_revoked_regulator_token_is_a_401(client, session, areas, now):
    firm, _ = make_firm(session, areas, now, approved=False)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    revoke_account(session, find_account_by_token(session, regulator).id, actor=SYSTEM, now=now)
    assert_problem(client.post(f"{API}/firms/{firm.id}/approve", headers=bearer(regulator)), 401)
    assert _status(session, firm.id) is FirmStatus.PENDING


def test_a_regulator_lists_only_the_firms_of_its_area(client, session, areas, now):
    inside, _ = make_firm(session, areas, now, area_code="440304007")
    make_firm(session, areas, now, uscc=uscc("MA5G0001"), area_code="440305")
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    assert [f["id"] for f in client.get(f"{API}/firms", headers=bearer(regulator)).get_json()] == [inside.id]


# ---- state machine ---------------------------------------------------------------------------------

def test_approving_twice_is_a_409_that_shows_the_current_status(client, session, areas, now):
    firm, _ = make_firm(session, areas, now, approved=False)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    assert client.post(f"{API}/firms/{firm.id}/approve", headers=bearer(regulator)).status_code == 200
    body = assert_problem(client.post(f"{API}/firms/{firm.id}/approve", headers=bearer(regulator)),
                          409, "invalid_state")
    assert body["details"] == {"status": "approved", "allowed": ["revoke", "suspend"]}
    assert [e.action for e in audit_rows(session, object_type="firm", object_id=firm.id)] == [
        "firm.registered", "firm.approved"]


def test_suspend_and_reinstate_are_each_audited_with_actor_reason_and_status_change(client, session, areas,
                                                                                    now):
    firm, _ = make_firm(session, areas, now)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304", name="福田区市场监管局")
    auditor = make_token(session, areas, now, Role.AUDITOR)
    suspended = client.post(f"{API}/firms/{firm.id}/suspend", json={"reason": "卫生检查未通过"},
                            headers=bearer(regulator))
    assert suspended.get_json()["status"] == "suspended"
    body = assert_problem(client.post(f"{API}/firms/{firm.id}/suspend", headers=bearer(regulator)), 409)
    assert body["details"] == {"status": "suspended", "allowed": ["reinstate", "revoke"]}
    assert client.post(f"{API}/firms/{firm.id}/reinstate", headers=bearer(regulator)).get_json()[
        "status"] == "approved"
    assert _status(session, firm.id) is FirmStatus.APPROVED
    entries = audit_via_api(client, auditor, object_type="firm", object_id=firm.id)
    assert [(e["action"], e["changes"]["status"]) for e in entries[:2]] == [
        ("firm.reinstated", ["suspended", "approved"]), ("firm.suspended", ["approved", "suspended"])]
    assert {(e["actor_name"], e["actor_role"]) for e in entries[:2]} == {("福田区市场监管局", "regulator")}
    assert entries[1]["changes"]["reason"] == "卫生检查未通过"
    assert entries[2]["action"] == "firm.registered"


def test_reinstating_a_firm_that_is_not_suspended_is_a_409(client, session, areas, now):
    firm, _ = make_firm(session, areas, now)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440300")
    body = assert_problem(client.post(f"{API}/firms/{firm.id}/reinstate", headers=bearer(regulator)), 409)
    assert body["details"]["status"] == "approved"


def test_an_unknown_firm_is_a_404(client, session, areas, now):
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440300")
    assert_problem(client.post(f"{API}/firms/999/approve", headers=bearer(regulator)), 404, "firm_not_found")


@pytest.mark.parametrize("firm_id", ["2147483648", "99999999999999999999999"])
def test_an_id_beyond_the_integer_range_is_a_404_not_a_500(client, session, areas, now, firm_id):
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440300")
    assert_problem(client.get(f"{API}/firms/{firm_id}", headers=bearer(regulator)), 404)
    assert_problem(client.post(f"{API}/firms/{firm_id}/approve", headers=bearer(regulator)), 404)


def test_a_reason_longer_than_500_characters_is_refused(client, session, areas, now):
    firm, _ = make_firm(session, areas, now)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    response = client.post(f"{API}/firms/{firm.id}/suspend", json={"reason": "x" * 501},
                           headers=bearer(regulator))
    assert "reason" in assert_problem(response, 422)["errors"]
    assert _status(session, firm.id) is FirmStatus.APPROVED


# ---- validation: nothing is written on failure -----------------------------------------------------

def test_a_duplicate_credit_code_is_a_409_even_when_typed_differently(client, session, areas, now):
    make_firm(session, areas, now, uscc=uscc("MA5G0000"))
    before = _written(session)
    for code in (uscc("MA5G0000"), uscc("MA5G0000").lower(), " ".join(uscc("MA5G0000"))):
        body = assert_problem(client.post(f"{API}/firms", json=firm_json(uscc=code)), 409, "duplicate_uscc")
        assert uscc("MA5G0000") in body["detail"]
    assert _written(session) == before


@pytest.mark.parametrize("field,value", [
    ("uscc", uscc("MA5G0000")[:-1] + "Q"), ("uscc", "91440300MA5G0000"), ("uscc", "91440300MA5G0I00OR"),
    ("area_code", "440399"), ("area_code", "440300"), ("area_code", "110105"), ("category", "fish"),
    ("contact_phone", "12345"), ("name", ""), ("name", "海吉星\x00配送"), ("address", "\x00"), ("name", 5),
    ("area_code", 440304), ("category", None)])
def test_an_invalid_field_is_a_422_naming_that_field_and_writes_nothing(client, session, field, value):
    before = _written(session)
    response = client.post(f"{API}/firms", json=firm_json(**{field: value}))
    body = assert_problem(response, 422, "validation_failed")
    assert list(body["errors"]) == [field]
    assert all(isinstance(m, str) and m for m in body["errors"][field])
    assert _written(session) == before


def test_a_missing_field_is_a_422_listing_every_missing_field(client, session):
    body = assert_problem(client.post(f"{API}/firms", json={"name": "x"}), 422)
    assert set(body["errors"]) == {"uscc", "category", "area_code", "address", "contact_name", "contact_phone"}
    assert count(session, Firm) == 0


@pytest.mark.parametrize("payload", [b"{not json", b'{"name": "a",}', b"\xff\xfe"])
def test_malformed_json_is_a_400_problem_and_writes_nothing(client, session, payload):
    response = client.post(f"{API}/firms", data=payload, content_type="application/json")
    assert assert_problem(response, 400, "bad_request")["detail"] == "The request body is not valid JSON."
    assert _written(session) == (0, 0, 0)


@pytest.mark.parametrize("payload", ["[]", '"firm"', "42", "null"])
def test_json_that_is_not_an_object_is_a_422(client, session, payload):
    response = client.post(f"{API}/firms", data=payload, content_type="application/json")
    assert_problem(response, 422, "validation_failed")
    assert _written(session) == (0, 0, 0)


# ---- public lookup ---------------------------------------------------------------------------------

@pytest.fixture
def listed_firms(session, areas, now):
    """Four approved firms in Futian (two in its streets) and Nanshan, plus a pending and a suspended one."""
    made = {}
    for key, org, name, area, category in [
            ("veg", "MA5G0000", "深圳市海吉星蔬菜配送有限公司", "440304", Category.VEGETABLES),
            ("meat", "MA5G0001", "福田肉类供应链有限公司", "440304004", Category.MEAT),
            ("drug", "MA5G0002", "华强北医药物流有限公司", "440304011", Category.MEDICINE),
            ("south", "MA5G0003", "南山蔬菜批发有限公司", "440305", Category.VEGETABLES)]:
        made[key], _ = make_firm(session, areas, now, uscc=uscc(org), name=name, area_code=area, category=category)
    made["pending"], _ = make_firm(session, areas, now, approved=False, uscc=uscc("MA5G0004"),
                                   name="待审蔬菜有限公司")
    made["suspended"], _ = make_firm(session, areas, now, uscc=uscc("MA5G0005"), name="停业蔬菜有限公司")
    change_firm_status(session, made["suspended"].id, "suspend", actor=SYSTEM, areas=areas, now=now)
    return made


def _public(client, **query):
    response = client.get(f"{API}/public/firms", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response


def test_the_public_list_shows_only_approved_firms_without_contact_data(client, listed_firms):
    body = _public(client).get_json()
    assert {f["id"] for f in body} == {listed_firms[k].id for k in ("veg", "meat", "drug", "south")}
    assert all(set(f) == {"id", "name", "uscc", "category", "area_code", "area_name_zh", "area_name_en"}
               for f in body)
    meat = next(f for f in body if f["id"] == listed_firms["meat"].id)
    assert (meat["area_name_zh"], meat["area_name_en"]) == ("福田街道", "Futian Subdistrict")
    assert "13800138000" not in str(body) and "陈经理" not in str(body)


def test_the_public_query_matches_a_name_substring_or_an_exact_credit_code(client, listed_firms):
    assert {f["id"] for f in _public(client, q="蔬菜").get_json()} == {listed_firms["veg"].id,
                                                                       listed_firms["south"].id}
    assert [f["id"] for f in _public(client, q=uscc("MA5G0002").lower()).get_json()] == [listed_firms["drug"].id]
    assert _public(client, q=uscc("MA5G0002")[:12]).get_json() == []
    assert _public(client, q="%").get_json() == [] and _public(client, q="_").get_json() == []
    assert _public(client, q=uscc("MA5G0004")).get_json() == []  # pending firms stay hidden


def test_the_public_area_filter_includes_the_streets_of_a_district(client, listed_firms):
    futian = {f["id"] for f in _public(client, area="440304").get_json()}
    assert futian == {listed_firms[k].id for k in ("veg", "meat", "drug")}
    assert [f["id"] for f in _public(client, area="440304011").get_json()] == [listed_firms["drug"].id]
    assert len(_public(client, area="440300").get_json()) == 4


def test_the_public_category_filter_and_an_unknown_category(client, listed_firms):
    assert {f["id"] for f in _public(client, category="vegetables").get_json()} == {
        listed_firms["veg"].id, listed_firms["south"].id}
    assert [f["category"] for f in _public(client, category="medicine", area="440304").get_json()] == ["medicine"]
    assert "category" in assert_problem(client.get(f"{API}/public/firms?category=fish"), 422)["errors"]


def test_the_public_list_is_paginated_with_an_x_pagination_header(client, listed_firms):
    first = _public(client, page_size=3)
    meta = json.loads(first.headers["X-Pagination"])
    assert (meta["total"], meta["total_pages"], meta["page"], meta["next_page"]) == (4, 2, 1, 2)
    second = _public(client, page_size=3, page=2)
    assert len(first.get_json()) == 3 and len(second.get_json()) == 1
    assert {f["id"] for f in first.get_json() + second.get_json()} == {
        listed_firms[k].id for k in ("veg", "meat", "drug", "south")}

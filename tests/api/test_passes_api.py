"""API tests for passes: intake, tier approval, the open format as a third party sees it, tampering, keys,
the status list, suspension and revocation, listing, QR images, printing and the signed white-list export."""
import hashlib
import json
from datetime import datetime, timedelta

import base45
import cbor2
import pytest
import zxingcpp
from sqlalchemy import update

from core.audit import AuditEntry
from core.db import transaction
from core.signing import VerificationError
from passes.format import read_qr_text
from passes.models import PassArea, PassDriver, VehiclePass
from tests.api.helpers import API, assert_problem, audit_via_api, count, fetch
from tests.api.pass_helpers import (DRIVER_ID_NUMBER, DRIVER_NAME, DRIVER_PHONE, FIRM_NAME, PLATES,
                                    VEGETABLES_CODE, apply, approve, b64u, build_world, change, clock,
                                    decode_status_list, entry, get_pass, issued, pass_json, trust_list,
                                    usable_keys, verify_cose)
from tests.factories import USCC, bearer, make_firm, make_person, make_vehicle
from tests.unit.test_qr import decode_png_gray


@pytest.fixture
def world(session, areas, cipher, now):
    return build_world(session, areas, cipher, now)


def _written(session) -> tuple[int, ...]:
    return tuple(count(session, model) for model in (VehiclePass, PassDriver, PassArea, AuditEntry))


def _cose(qr_text: str) -> bytes:
    assert qr_text.startswith("GL1:")
    return base45.b45decode(qr_text[4:])


# ---- intake ----------------------------------------------------------------------------------------

def test_a_firm_applies_and_its_pass_is_pending_without_serial_or_qr(client, session, world):
    data = pass_json(world, scope=["440304001", "440304002"])
    response = client.post(f"{API}/passes", json=data, headers=world.headers("firm"))
    assert response.status_code == 201
    body = response.get_json()
    assert (body["status"], body["serial"], body["qr"], body["kid"]) == ("pending", None, None, None)
    assert (body["firm_id"], body["vehicle_id"], body["driver_ids"]) == (world.firm_id, world.vehicle_ids[0],
                                                                         [world.driver_id])
    assert (body["plate"], body["scope"], body["category"]) == (PLATES[0], ["440304001", "440304002"], "vegetables")
    assert body["valid_from"][:19] == data["valid_from"][:19] and len(body["id"]) == 8
    assert get_pass(client, world, body["id"]) == body
    [row] = fetch(session, VehiclePass.__table__.select()).mappings().all()
    assert (row["id"], row["status"]) == (body["id"], "pending")


@pytest.mark.parametrize("overrides,field", [
    (dict(scope=["440304001", "440399"]), "scope"),
    (dict(days=8, start_hours=1), "valid_until"),
    (dict(start_hours=-72, days=2), "valid_until"),
])
def test_a_bad_scope_or_window_is_a_422_and_writes_nothing(client, session, world, overrides, field):
    before = _written(session)
    body = assert_problem(client.post(f"{API}/passes", json=pass_json(world, **overrides),
                                      headers=world.headers("firm")), 422, "validation_failed")
    assert list(body["errors"]) == [field]
    assert _written(session) == before


def test_a_window_of_exactly_seven_days_is_accepted_but_one_second_more_is_not(client, world):
    assert apply(client, world, days=7)["status"] == "pending"
    start = clock() - timedelta(hours=1)
    longer = pass_json(world, vehicle=1, valid_from=start.isoformat(),
                       valid_until=(start + timedelta(days=7, seconds=1)).isoformat())
    body = assert_problem(client.post(f"{API}/passes", json=longer, headers=world.headers("firm")), 422)
    assert "7 days" in body["errors"]["valid_until"][0]


def test_valid_until_before_valid_from_is_a_422(client, session, world):
    data = pass_json(world)
    data["valid_from"], data["valid_until"] = data["valid_until"], data["valid_from"]
    before = _written(session)
    body = assert_problem(client.post(f"{API}/passes", json=data, headers=world.headers("firm")), 422)
    assert body["errors"] == {"valid_until": ["must be after valid_from"]}
    assert _written(session) == before


def _suspend_entry(client, world, kind, item_id):
    response = client.post(f"{API}/{kind}/{item_id}/suspend", json={"reason": "年检过期"},
                           headers=world.headers("futian"))
    assert response.status_code == 200 and response.get_json()["status"] == "suspended"


@pytest.mark.parametrize("case", ["suspended vehicle", "driver of another firm", "suspended driver"])
def test_a_vehicle_or_driver_not_cleared_is_not_whitelisted(client, session, areas, cipher, now, world, case):
    data = pass_json(world)
    if case == "suspended vehicle":
        _suspend_entry(client, world, "vehicles", world.vehicle_ids[0])
    elif case == "driver of another firm":
        other, _ = make_firm(session, areas, now, uscc=USCC[1], name="别家公司")
        data["driver_ids"] = [make_person(session, areas, cipher, now, firm_id=other.id).id]
    else:
        _suspend_entry(client, world, "people", world.driver_id)
    before = _written(session)
    body = assert_problem(client.post(f"{API}/passes", json=data, headers=world.headers("firm")), 422,
                          "not_whitelisted")
    assert list(body["errors"]) == ["vehicle_id" if case == "suspended vehicle" else "driver_ids"]
    assert _written(session) == before


def test_a_pending_firm_may_not_apply(client, session, areas, cipher, now):
    firm, token = make_firm(session, areas, now, approved=False, uscc=USCC[1])
    driver = make_person(session, areas, cipher, now, firm_id=firm.id)
    vehicle = make_vehicle(session, areas, now, firm_id=firm.id)
    start = clock()
    data = dict(vehicle_id=vehicle.id, driver_ids=[driver.id], category="vegetables", scope=["440304"],
                valid_from=start.isoformat(), valid_until=(start + timedelta(days=1)).isoformat(), purpose="配送")
    before = _written(session)
    body = assert_problem(client.post(f"{API}/passes", json=data, headers=bearer(token)), 422, "not_whitelisted")
    assert body["errors"] == {"firm": ["firm is pending"]}
    assert _written(session) == before


def test_an_overlapping_window_for_the_same_vehicle_is_a_409_but_the_next_window_is_fine(client, session, world):
    first = apply(client, world, start_hours=-1, days=1)
    before = _written(session)
    body = assert_problem(client.post(f"{API}/passes", json=pass_json(world, start_hours=12, days=2),
                                      headers=world.headers("firm")), 409, "overlapping_pass")
    assert body["details"] == {"pass_id": first["id"]}
    assert _written(session) == before
    following = apply(client, world, start_hours=23, days=2)  # starts exactly when the first one ends
    assert following["status"] == "pending" and following["id"] != first["id"]
    assert apply(client, world, vehicle=1, start_hours=12, days=2)["vehicle_id"] == world.vehicle_ids[1]


@pytest.mark.parametrize("who", ["futian", "officer", "admin"])
def test_only_a_firm_account_may_apply(client, session, world, who):
    before = _written(session)
    body = assert_problem(client.post(f"{API}/passes", json=pass_json(world), headers=world.headers(who)), 403,
                          "forbidden")
    assert "may not" in body["detail"]
    assert _written(session) == before


# ---- tier approval ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who,scope", [
    ("city", ["440304", "440305"]), ("city", ["440300"]), ("futian", ["440304001"]), ("futian", ["440304"]),
    ("nanyuan", ["440304001"])])
def test_a_regulator_whose_area_contains_the_scope_approves(client, world, who, scope):
    body = approve(client, world, apply(client, world, scope=scope)["id"], who)
    assert (body["status"], body["scope"], body["serial"]) == ("active", scope, 0)
    assert get_pass(client, world, body["id"])["status"] == "active"


@pytest.mark.parametrize("who,scope", [
    ("futian", ["440304001", "440305"]), ("futian", ["440300"]), ("nanyuan", ["440304"]),
    ("nanyuan", ["440304001", "440304002"]), ("nanshan", ["440304001"])])
def test_a_regulator_outside_the_scope_gets_403_and_the_pass_stays_pending(client, session, world, who, scope):
    pass_id = apply(client, world, scope=scope)["id"]
    before = _written(session)
    assert_problem(client.post(f"{API}/passes/{pass_id}/approve", headers=world.headers(who)), 403, "forbidden")
    assert get_pass(client, world, pass_id)["status"] == "pending"
    assert _written(session) == before


def test_approving_twice_is_a_409_naming_the_state_and_issues_one_serial(client, world):
    first = issued(client, world)
    again = assert_problem(client.post(f"{API}/passes/{first['id']}/approve", headers=world.headers("city")),
                           409, "invalid_state")
    assert again["details"]["status"] == "active"
    assert get_pass(client, world, first["id"])["serial"] == first["serial"] == 0
    assert issued(client, world, vehicle=1)["serial"] == 1


def test_a_rejection_reason_is_readable_by_the_firm_and_a_rejected_pass_cannot_be_approved(client, world):
    pass_id = apply(client, world)["id"]
    assert_problem(client.post(f"{API}/passes/{pass_id}/reject", json={}, headers=world.headers("futian")), 422)
    rejected = change(client, world, pass_id, "reject", reason="材料不全 incomplete papers")
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    seen = get_pass(client, world, pass_id)
    assert (seen["status"], seen["reason"], seen["qr"]) == ("rejected", "材料不全 incomplete papers", None)
    body = assert_problem(client.post(f"{API}/passes/{pass_id}/approve", headers=world.headers("city")), 409,
                          "invalid_state")
    assert body["details"]["status"] == "rejected"
    assert apply(client, world)["status"] == "pending"  # a rejected pass no longer blocks the vehicle


def test_an_active_pass_carries_serial_qr_and_the_active_kid(client, world):
    passes = [issued(client, world, vehicle=i) for i in range(3)]
    [key] = trust_list(client)
    assert [p["serial"] for p in passes] == [0, 1, 2]
    assert all(p["qr"].startswith("GL1:") and p["kid"] == key["kid"] for p in passes)
    assert key["status"] == "active" and key["not_after"] is None


def test_the_trust_list_gives_key_dates_as_rfc3339_as_documented(client, world):
    issued(client, world)
    [key] = trust_list(client)
    assert abs(datetime.fromisoformat(key["not_before"]).timestamp() - clock().timestamp()) < 300
    assert key["not_after"] is None


# ---- the format, as a third party reads it ---------------------------------------------------------

def test_a_third_party_verifies_the_qr_and_reads_the_claims_with_cbor2_and_cryptography(client, world):
    body = issued(client, world, scope=["440304001", "440304002", "440305"])
    cose = _cose(body["qr"])
    [key] = trust_list(client)
    kid, payload = verify_cose(cose, usable_keys([key]))
    assert kid == b64u(key["kid"]) == b64u(body["kid"]) and len(kid) == 8
    assert hashlib.sha256(b64u(key["x"])).digest()[:8] == kid  # docs/pass-format.md section 5
    assert cbor2.loads(payload) == {
        1: body["id"], 2: body["serial"], 3: PLATES[0], 4: [440304001, 440304002, 440305], 5: VEGETABLES_CODE,
        6: _epoch(body["valid_from"]), 7: _epoch(body["valid_until"])}
    for personal in (DRIVER_NAME, DRIVER_ID_NUMBER, DRIVER_PHONE, "陈经理", "13800138000"):
        assert personal.encode() not in cose
    # Tag 18 in front is the same document: the project's reader accepts it too.
    tagged = "GL1:" + base45.b45encode(b"\xd2" + cose).decode()
    assert read_qr_text(tagged, usable_keys([key]))[1].pass_id == body["id"]


def test_changing_any_single_byte_of_the_cose_bytes_is_rejected_by_both_verifiers(client, world):
    body = issued(client, world)
    cose, keys = _cose(body["qr"]), usable_keys(trust_list(client))
    assert verify_cose(cose, keys)[1] and read_qr_text(body["qr"], keys)[1].serial == body["serial"]
    tried = 0
    for i, original in enumerate(cose):
        # 0x40 turns the unprotected map into an empty byte string, which no signature covers.
        for value in {original ^ 0x01, original ^ 0x80, original ^ 0xFF, 0x40} - {original}:
            tampered = cose[:i] + bytes([value]) + cose[i + 1:]
            with pytest.raises(Exception):
                verify_cose(tampered, keys)
            with pytest.raises(VerificationError):
                read_qr_text("GL1:" + base45.b45encode(tampered).decode(), keys)
            tried += 1
    assert tried >= 3 * len(cose)


# ---- keys ------------------------------------------------------------------------------------------

def test_rotation_signs_new_passes_with_a_new_key_and_revoking_the_old_key_is_published(app, client, world):
    old = issued(client, world)
    rotated = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    keys = {k["kid"]: k for k in trust_list(client)}
    assert keys[old["kid"]]["status"] == "retired" and keys[old["kid"]]["not_after"] is not None
    [new_kid] = [kid for kid, k in keys.items() if k["status"] == "active"]
    assert new_kid != old["kid"] and b64u(new_kid).hex() in rotated.output
    new = issued(client, world, vehicle=1)
    assert new["kid"] == new_kid and get_pass(client, world, old["id"])["kid"] == old["kid"]
    usable = usable_keys(trust_list(client))
    assert [verify_cose(_cose(p["qr"]), usable)[0] for p in (old, new)] == [b64u(old["kid"]), b64u(new_kid)]
    assert read_qr_text(old["qr"], usable)[1].pass_id == old["id"]

    revoked = app.test_cli_runner().invoke(args=["keys", "revoke", "--", old["kid"]])  # a kid may start with "-"
    assert revoked.exit_code == 0, revoked.output
    statuses = {k["kid"]: k["status"] for k in trust_list(client)}
    assert statuses == {old["kid"]: "revoked", new_kid: "active"}
    usable = usable_keys(trust_list(client))
    with pytest.raises(KeyError):
        verify_cose(_cose(old["qr"]), usable)
    assert verify_cose(_cose(new["qr"]), usable)[0] == b64u(new_kid)
    [entry_] = audit_via_api(client, world.tokens["auditor"], object_type="signing_key", action="key.revoked")
    assert entry_["object_id"] == b64u(old["kid"]).hex() and entry_["changes"]["status"] == ["retired", "revoked"]


# ---- status list -----------------------------------------------------------------------------------

def test_the_status_list_carries_two_bits_per_serial_and_supports_etags(client, world):
    passes = [issued(client, world, vehicle=i) for i in range(4)]
    assert [p["serial"] for p in passes] == [0, 1, 2, 3]
    keys = usable_keys(trust_list(client))
    first = client.get(f"{API}/status-list")
    assert first.status_code == 200 and first.mimetype == "application/cose"
    claims, bits = decode_status_list(first.data, keys)
    assert set(claims) == {1, 2, 3, 4, 5, 6} and claims[3] == 2 and claims[5] == 4  # 5: the entry count
    assert abs(claims[2] - clock().timestamp()) < 300
    assert claims[6] == claims[2] + 24 * 3600  # 6: the expiry, GREENLANE_STATUS_LIST_LIFETIME_HOURS after
    assert [entry(bits, n) for n in range(4)] == [0, 0, 0, 0]
    etag = first.headers["ETag"]
    unchanged = client.get(f"{API}/status-list", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""

    assert change(client, world, passes[2]["id"], "suspend").get_json()["status"] == "suspended"
    second = client.get(f"{API}/status-list", headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["ETag"] != etag
    claims2, bits = decode_status_list(second.data, keys)
    assert claims2[1] > claims[1]
    assert [entry(bits, n) for n in range(4)] == [0, 0, 1, 0] and bits[0] == 0b00_00_01_00

    assert change(client, world, passes[1]["id"], "revoke").get_json()["status"] == "revoked"
    claims3, bits = decode_status_list(client.get(f"{API}/status-list").data, keys)
    assert claims3[1] > claims2[1]
    assert [entry(bits, n) for n in range(4)] == [0, 2, 1, 0] and bits[0] == 0b00_10_01_00
    assert change(client, world, passes[2]["id"], "reinstate").get_json()["status"] == "active"
    claims4, bits = decode_status_list(client.get(f"{API}/status-list").data, keys)
    assert claims4[1] > claims3[1] and [entry(bits, n) for n in range(4)] == [0, 2, 0, 0]


# ---- suspend, reinstate, revoke --------------------------------------------------------------------

@pytest.mark.parametrize("body", [None, {}, {"reason": ""},
                                  {"reason": "   "}])
def test_suspend_reinstate_and_revoke_need_a_reason(client, session, world, body):
    pass_id = issued(client, world)["id"]
    before = _written(session)
    for action in ("suspend", "revoke"):
        response = client.post(f"{API}/passes/{pass_id}/{action}", json=body, headers=world.headers("futian"))
        assert_problem(response, 422)
    assert get_pass(client, world, pass_id)["status"] == "active" and _written(session) == before
    change(client, world, pass_id, "suspend")
    response = client.post(f"{API}/passes/{pass_id}/reinstate", json=body, headers=world.headers("futian"))
    assert_problem(response, 422)
    assert get_pass(client, world, pass_id)["status"] == "suspended"


def test_a_revocation_is_permanent(client, world):
    pass_id = issued(client, world)["id"]
    assert change(client, world, pass_id, "suspend").get_json()["status"] == "suspended"
    assert change(client, world, pass_id, "reinstate").get_json()["status"] == "active"
    assert change(client, world, pass_id, "revoke", reason="伪造货单 forged papers").get_json()["status"] == "revoked"
    for action in ("reinstate", "suspend", "revoke"):
        body = assert_problem(change(client, world, pass_id, action), 409, "invalid_state")
        assert body["details"] == {"status": "revoked", "allowed": []}
    seen = get_pass(client, world, pass_id)
    assert (seen["status"], seen["reason"]) == ("revoked", "伪造货单 forged papers")
    assert_problem(client.get(f"{API}/passes/{pass_id}/qr.png"), 404, "pass_not_found")


@pytest.mark.parametrize("who,status", [("firm", 403), ("nanshan", 403), ("nanyuan", 403), ("officer", 403)])
def test_only_a_regulator_of_the_whole_scope_or_an_admin_changes_a_pass(client, session, world, who, status):
    pass_id = issued(client, world, scope=["440304"])["id"]
    before = _written(session)
    for action in ("suspend", "revoke"):
        assert_problem(change(client, world, pass_id, action, who=who), status, "forbidden")
    assert get_pass(client, world, pass_id)["status"] == "active" and _written(session) == before


def test_every_change_is_audited_with_its_reason_and_actor(client, world):
    pass_id = issued(client, world, scope=["440300"])["id"]
    change(client, world, pass_id, "suspend", who="city", reason="超范围行驶")
    change(client, world, pass_id, "reinstate", who="city", reason="已整改")
    assert change(client, world, pass_id, "revoke", who="admin", reason="企业退出").status_code == 200
    entries = audit_via_api(client, world.tokens["auditor"], object_type="pass", object_id=pass_id)
    assert [(e["action"], e["actor_role"], e["actor_name"], e["changes"].get("reason"), e["changes"].get("status"))
            for e in entries[:4]] == [
        ("pass.revoked", "admin", "管理员", "企业退出", ["active", "revoked"]),
        ("pass.reinstated", "regulator", "监管 city", "已整改", ["suspended", "active"]),
        ("pass.suspended", "regulator", "监管 city", "超范围行驶", ["active", "suspended"]),
        ("pass.approved", "regulator", "监管 city", None, None)]
    assert [e["action"] for e in entries[4:]] == ["pass.applied"] and entries[4]["actor_role"] == "firm"


def test_suspending_the_firm_suspends_its_active_passes_and_reinstating_lifts_only_those(client, world):
    by_firm, by_regulator = issued(client, world, vehicle=0), issued(client, world, vehicle=1)
    pending = apply(client, world, vehicle=2)
    change(client, world, by_regulator["id"], "suspend", reason="单独停用")
    keys = usable_keys(trust_list(client))

    def states():
        return [get_pass(client, world, p["id"])["status"] for p in (by_firm, by_regulator, pending)]

    def bits():
        return [entry(decode_status_list(client.get(f"{API}/status-list").data, keys)[1], n) for n in (0, 1)]

    response = client.post(f"{API}/firms/{world.firm_id}/suspend", json={"reason": "停业整顿"},
                           headers=world.headers("futian"))
    assert response.status_code == 200 and response.get_json()["status"] == "suspended"
    assert states() == ["suspended", "suspended", "pending"] and bits() == [1, 1]
    assert_problem(change(client, world, by_firm["id"], "reinstate"), 422, "not_whitelisted")
    response = client.post(f"{API}/firms/{world.firm_id}/reinstate", json={}, headers=world.headers("futian"))
    assert response.status_code == 200 and response.get_json()["status"] == "approved"
    assert states() == ["active", "suspended", "pending"] and bits() == [0, 1]
    [cascade] = audit_via_api(client, world.tokens["auditor"], object_type="firm", action="pass.reinstated")
    assert cascade["changes"]["passes"] == [by_firm["id"]]


# ---- listing ---------------------------------------------------------------------------------------

def test_each_role_lists_the_passes_it_may_see(client, session, areas, cipher, now, world):
    street, city_wide = apply(client, world, vehicle=0), apply(client, world, vehicle=1, scope=["440300"])
    nanshan_only = apply(client, world, vehicle=2, scope=["440305001"])
    other, other_token = make_firm(session, areas, now, uscc=USCC[1], name="南山冷链", area_code="440305")
    driver = make_person(session, areas, cipher, now, firm_id=other.id)
    vehicle = make_vehicle(session, areas, now, firm_id=other.id, plate="粤B56789")
    data = pass_json(world, scope=["440305"], driver_ids=[driver.id], vehicle_id=vehicle.id)
    other_pass = client.post(f"{API}/passes", json=data, headers=bearer(other_token)).get_json()

    def ids(headers, **query):
        response = client.get(f"{API}/passes", headers=headers, query_string=query)
        assert response.status_code == 200, response.get_json()
        return {p["id"] for p in response.get_json()}

    mine = {street["id"], city_wide["id"], nanshan_only["id"]}
    assert ids(world.headers("firm")) == mine and ids(bearer(other_token)) == {other_pass["id"]}
    assert ids(world.headers("futian")) == {street["id"], city_wide["id"]}
    assert ids(world.headers("nanshan")) == {city_wide["id"], nanshan_only["id"], other_pass["id"]}
    assert ids(world.headers("auditor")) == mine | {other_pass["id"]}
    assert ids(world.headers("auditor"), firm=other.id) == {other_pass["id"]}
    assert_problem(client.get(f"{API}/passes/{other_pass['id']}", headers=world.headers("firm")), 403)
    assert_problem(client.get(f"{API}/passes/{nanshan_only['id']}", headers=world.headers("futian")), 403)
    assert_problem(client.get(f"{API}/passes", headers=world.headers("officer")), 403, "forbidden")


def test_the_expired_filter_lists_active_passes_whose_window_is_over(client, session, world):
    over, current = issued(client, world, vehicle=0), issued(client, world, vehicle=1)
    with transaction(session):  # an API cannot issue a pass that ends in the past, so age one in place
        session.execute(update(VehiclePass).where(VehiclePass.id == over["id"]).values(
            valid_from=clock() - timedelta(days=2), valid_until=clock() - timedelta(minutes=1)))

    def listed(status):
        response = client.get(f"{API}/passes", query_string={"status": status}, headers=world.headers("auditor"))
        return [(p["id"], p["status"]) for p in response.get_json()]

    assert listed("expired") == [(over["id"], "expired")]
    assert listed("active") == [(current["id"], "active")]
    assert get_pass(client, world, over["id"])["status"] == "expired"


# ---- QR images and the printable page ---------------------------------------------------------------

def test_the_png_decodes_to_exactly_the_pass_text_and_the_svg_is_svg(client, world):
    body = issued(client, world, scope=["440304001", "440304002", "440305"], days=7)
    png = client.get(f"{API}/passes/{body['id']}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    width, height, pixels = decode_png_gray(png.data)
    result = zxingcpp.read_barcode(memoryview(pixels).cast("B", (height, width)),
                                   formats=zxingcpp.BarcodeFormat.QRCode)
    assert result is not None and result.text == body["qr"]
    assert width // 6 - 2 * 4 <= 17 + 4 * 8  # a typical pass fits QR version 8
    svg = client.get(f"{API}/passes/{body['id']}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.data.startswith(b"<?xml") and b"<svg" in svg.data and svg.data.rstrip().endswith(b"</svg>")


def test_a_pending_pass_has_no_qr_image_nor_print_page(client, world):
    pass_id = apply(client, world)["id"]
    for suffix in ("qr.png", "qr.svg"):
        assert_problem(client.get(f"{API}/passes/{pass_id}/{suffix}"), 404, "pass_not_found")
    response = client.get(f"/passes/{pass_id}/print")
    assert response.status_code == 404 and response.mimetype == "text/html"  # a page (issue 13 item 11)


def test_the_print_page_shows_plate_scope_names_firm_and_an_inline_svg(client, world):
    body = issued(client, world, scope=["440304001", "440305"])
    page = client.get(f"/passes/{body['id']}/print")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for text in (PLATES[0], "南园街道", "南山区", FIRM_NAME, "<svg", body["id"], "车辆通行证"):
        assert text in html, text
    assert DRIVER_NAME not in html
    client.set_cookie("greenlane_lang", "en")  # the reader's language (issue 9): English from the catalog
    english = client.get(f"/passes/{body['id']}/print").get_data(as_text=True)
    for text in (PLATES[0], "Nanyuan Subdistrict", "Nanshan District", FIRM_NAME, "<svg", "Vehicle pass"):
        assert text in english, text


# ---- white-list export -----------------------------------------------------------------------------

def test_the_signed_whitelist_export_lists_approved_firms_and_their_plates_only(client, session, areas, cipher,
                                                                               now, world):
    pending, _ = make_firm(session, areas, now, approved=False, uscc=USCC[1], name="待审公司")
    make_vehicle(session, areas, now, firm_id=pending.id, plate="粤B56789")
    response = client.get(f"{API}/whitelist/export")
    assert response.status_code == 200 and response.mimetype == "application/cose"
    _, payload = verify_cose(response.data, usable_keys(trust_list(client)))
    document = json.loads(payload.decode("utf-8"))
    assert [{k: f[k] for k in ("uscc", "category", "area_code", "plates")} for f in document["firms"]] == [
        {"uscc": USCC[0], "category": "vegetables", "area_code": "440304", "plates": PLATES}]
    assert abs(_epoch(document["issued_at"]) - clock().timestamp()) < 300
    for absent in (USCC[1], "粤B56789", DRIVER_NAME, DRIVER_ID_NUMBER, DRIVER_PHONE, "陈经理", "13800138000"):
        assert absent.encode() not in payload, absent


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())

"""The console's firms: the queue (area, filters, counts, search), a firm's page, and the decisions on
firms, people and vehicles with their effect shown first (the same rule the decision applies)."""
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.accounts import Role
from core.audit import AuditEntry
from passes.effects import passes_changed_by_firm_action
from passes.models import PassStatus, VehiclePass
from tests.api.console_helpers import console_user, page, post_with_token
from tests.api.helpers import uscc
from tests.api.pass_helpers import build_world, clock, issued
from tests.factories import make_firm, make_person
from whitelist.models import Category, EntryStatus, Firm, FirmStatus, Person, Vehicle

HOSTILE = "<script>alert(1)</script>\u202eevil"


def _pending(session, areas, now, n, *, area_code="440304001", name="待审企业", age_days=0, category=None):
    firms = []
    for i in range(n):
        extra = {"category": category} if category else {}
        # The console counts ages on the real clock.
        firm, _ = make_firm(session, areas, clock() - timedelta(days=age_days, minutes=i), approved=False, area_code=area_code,
                            uscc=uscc(f"MA{zlib.crc32(name.encode()) % 10_000:04d}{i:02d}"), name=f"{name}{i}", **extra)
        firms.append(firm)
    return firms


def _status(session, model, item_id):
    session.rollback()  # a fresh snapshot: the page changed the database in its own transaction
    session.expire_all()
    return session.get(model, item_id).status


def test_a_district_regulator_sees_only_pending_firms_of_its_district_oldest_first(client, session, areas, now):
    old = _pending(session, areas, now, 1, name="老申请", age_days=5)[0]
    new = _pending(session, areas, now, 1, area_code="440304002", name="新申请")[0]
    outside = _pending(session, areas, now, 1, area_code="440305001", name="南山企业")[0]
    console_user(client, session, areas, now, area_code="440304")
    response, html = page(client, "/console/firms")
    assert response.status_code == 200
    assert html.index(old.name) < html.index(new.name)
    assert outside.name not in html
    assert "共 2 家" in html


def test_the_queue_filters_by_district_category_and_age_and_counts_each_option(client, session, areas, now):
    _pending(session, areas, now, 2, area_code="440304001", name="福田老", age_days=4)
    _pending(session, areas, now, 1, area_code="440305001", name="南山新", category=Category.MEAT)
    console_user(client, session, areas, now, area_code="440300")
    html = page(client, "/console/firms?age=3")[1]
    assert "共 2 家" in html and "南山新" not in html
    assert "福田区 (2)" in html and "南山区 (0)" in html  # counts keep the other filters (age)
    html = page(client, "/console/firms?district=440305&category=meat")[1]
    assert "共 1 家" in html and "南山新0" in html and "福田老" not in html
    html = page(client, "/console/firms?district=nonsense&age=99&status=bogus")[1]  # ignored, never a 500
    assert "共 3 家" in html


def test_the_search_finds_firms_of_any_status_by_name_or_credit_code(client, session, areas, now):
    approved, _ = make_firm(session, areas, now, area_code="440304001")
    console_user(client, session, areas, now, area_code="440304")
    html = page(client, f"/console/firms?status=all&q={approved.uscc}")[1]
    assert approved.name in html and "共 1 家" in html
    html = page(client, "/console/firms?status=approved&q=海吉星")[1]
    assert approved.name in html


def test_a_firm_of_another_area_is_not_found(client, session, areas, now):
    outside = _pending(session, areas, now, 1, area_code="440305001")[0]
    console_user(client, session, areas, now, area_code="440304")
    assert page(client, f"/console/firms/{outside.id}")[0].status_code == 404
    response = client.get(f"/console/firms/{outside.id}/decision?action=approve")
    assert response.status_code == 404
    assert _status(session, Firm, outside.id) is FirmStatus.PENDING


def test_approving_and_rejecting_a_pending_firm_with_a_reason(client, session, areas, now):
    first, second = _pending(session, areas, now, 2)
    console_user(client, session, areas, now, area_code="440304")
    url = f"/console/firms/{first.id}/decision"
    response = post_with_token(client, url, {"action": "approve", "reason": ""}, token_page=url + "?action=approve")
    assert response.status_code == 303 and _status(session, Firm, first.id) is FirmStatus.APPROVED
    url = f"/console/firms/{second.id}/decision"
    response = post_with_token(client, url, {"action": "reject", "reason": "材料不全"}, token_page=url + "?action=reject")
    assert response.status_code == 303, response.headers
    assert _status(session, Firm, second.id) is FirmStatus.REJECTED, response.headers
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "firm.rejected")).one()
    assert entry.changes["reason"] == "材料不全" and entry.object_id == str(second.id)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501, "bad\u202ereason"])
def test_a_rejection_without_a_proper_reason_changes_nothing_and_says_why(client, session, areas, now, reason):
    firm = _pending(session, areas, now, 1)[0]
    console_user(client, session, areas, now, area_code="440304")
    url = f"/console/firms/{firm.id}/decision"
    response = post_with_token(client, url, {"action": "reject", "reason": reason}, token_page=url + "?action=reject")
    assert response.status_code == 422 and 'id="f-reason-error"' in response.get_data(as_text=True)
    assert _status(session, Firm, firm.id) is FirmStatus.PENDING


def test_an_unknown_action_or_a_missing_csrf_token_changes_nothing(client, session, areas, now):
    firm = _pending(session, areas, now, 1)[0]
    console_user(client, session, areas, now, area_code="440304")
    url = f"/console/firms/{firm.id}/decision"
    response = post_with_token(client, url, {"action": "delete", "reason": "x"}, token_page=url + "?action=approve")
    assert response.status_code == 404 and response.mimetype == "text/html"
    response = client.post(url, data={"action": "approve", "reason": "x"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert _status(session, Firm, firm.id) is FirmStatus.PENDING


def test_an_action_the_state_forbids_is_an_error_page_and_changes_nothing(client, session, areas, now):
    firm = _pending(session, areas, now, 1)[0]
    console_user(client, session, areas, now, area_code="440304")
    url = f"/console/firms/{firm.id}/decision"
    html = page(client, url + "?action=suspend")[1]
    assert 'id="not-allowed"' in html and 'id="confirm"' not in html
    response = post_with_token(client, url, {"action": "suspend", "reason": "x"}, token_page=url + "?action=approve")
    assert response.status_code == 409 and response.mimetype == "text/html"
    assert _status(session, Firm, firm.id) is FirmStatus.PENDING


def test_auditors_read_the_queue_and_a_firm_but_cannot_decide(client, session, areas, now):
    firm = _pending(session, areas, now, 1, area_code="440305001")[0]
    console_user(client, session, areas, now, Role.AUDITOR, area_code=None)
    html = page(client, f"/console/firms/{firm.id}")[1]
    assert firm.name in html and 'id="firm-actions"' not in html
    assert client.get(f"/console/firms/{firm.id}/decision?action=approve").status_code == 403
    token_page = f"/console/firms/{firm.id}"
    response = post_with_token(client, f"/console/firms/{firm.id}/decision", {"action": "approve", "reason": "x"},
                               token_page=token_page)
    assert response.status_code == 403 and _status(session, Firm, firm.id) is FirmStatus.PENDING


def test_the_suspension_preview_lists_exactly_the_passes_the_suspension_stops(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    active = [issued(client, world, vehicle=i)["id"] for i in range(2)]
    console_user(client, session, areas, now, area_code="440304")
    url = f"/console/firms/{world.firm_id}/decision"
    html = page(client, url + "?action=suspend")[1]
    assert "此操作将影响 2 张通行证" in html and all(pid in html for pid in active)
    previewed = {p.id for p in passes_changed_by_firm_action(session, world.firm_id, "suspend")}
    response = post_with_token(client, url, {"action": "suspend", "reason": "冷链检查不合格"}, token_page=url + "?action=suspend")
    assert response.status_code == 303
    session.rollback()  # a fresh snapshot: the page changed the database in its own transaction
    session.expire_all()
    stopped = {p.id for p in session.scalars(select(VehiclePass).where(VehiclePass.status == PassStatus.SUSPENDED))}
    assert stopped == previewed == set(active)
    html = page(client, url + "?action=reinstate")[1]  # reinstating lifts exactly those
    assert "此操作将影响 2 张通行证" in html


def test_the_firm_page_shows_people_masked_vehicles_and_passes_with_hostile_text_inert(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    make_person(session, areas, cipher, now, firm_id=world.firm_id, name=HOSTILE, id_number="11010519491231002X")
    issued(client, world)
    console_user(client, session, areas, now, area_code="440304")
    html = page(client, f"/console/firms/{world.firm_id}")[1]
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "11010519491231002X" not in html and "002X" in html  # masked identity only
    assert "粤B" in html and "有效" in html


def test_suspending_a_vehicle_shows_its_passes_first_and_needs_a_reason(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    pid = issued(client, world)["id"]
    vehicle_id = world.vehicle_ids[0]
    console_user(client, session, areas, now, area_code="440304")
    url = f"/console/vehicles/{vehicle_id}/decision"
    html = page(client, url + "?action=suspend")[1]
    assert pid in html and 'id="confirm"' in html
    response = post_with_token(client, url, {"action": "suspend", "reason": ""}, token_page=url + "?action=suspend")
    assert response.status_code == 422 and _status(session, Vehicle, vehicle_id) is EntryStatus.ACTIVE
    response = post_with_token(client, url, {"action": "suspend", "reason": "刹车故障"}, token_page=url + "?action=suspend")
    assert response.status_code == 303 and _status(session, Vehicle, vehicle_id) is EntryStatus.SUSPENDED


def test_a_person_page_shows_the_masked_identity_and_the_latest_test(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    console_user(client, session, areas, now, area_code="440304")
    html = page(client, f"/console/people/{world.driver_id}")[1]
    assert "440304200001010009" not in html and "0009" in html
    assert "阴性" in html and 'id="latest-test"' in html
    url = f"/console/people/{world.driver_id}/decision"
    response = post_with_token(client, url, {"action": "suspend", "reason": "证件待核实"}, token_page=url + "?action=suspend")
    assert response.status_code == 303 and _status(session, Person, world.driver_id) is EntryStatus.SUSPENDED


def test_a_regulator_of_another_district_cannot_open_or_suspend_a_person(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    console_user(client, session, areas, now, area_code="440305")
    assert client.get(f"/console/people/{world.driver_id}").status_code == 404
    assert client.get(f"/console/vehicles/{world.vehicle_ids[0]}/decision?action=suspend").status_code == 404
    assert _status(session, Person, world.driver_id) is EntryStatus.ACTIVE


def test_a_hostile_firm_name_is_shown_as_text_in_the_queue_and_on_its_decision_page(client, session, areas, now):
    firm = _pending(session, areas, now, 1, name=HOSTILE.replace("\u202e", ""))[0]
    console_user(client, session, areas, now, area_code="440304")
    for url in ("/console/firms", f"/console/firms/{firm.id}/decision?action=reject"):
        html = page(client, url)[1]
        assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_revoking_a_firm_revokes_exactly_the_passes_its_preview_listed_and_cannot_be_undone(
        client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    active = issued(client, world, vehicle=0)["id"]
    suspended = issued(client, world, vehicle=1)["id"]
    assert client.post(f"/api/v1/passes/{suspended}/suspend", json={"reason": "检查"},
                       headers=world.headers("futian")).status_code == 200
    console_user(client, session, areas, now, area_code="440304")
    url = f"/console/firms/{world.firm_id}/decision"
    html = page(client, url + "?action=revoke")[1]
    assert "此操作将影响 2 张通行证" in html and active in html and suspended in html
    response = post_with_token(client, url, {"action": "revoke", "reason": "伪造资质"}, token_page=url + "?action=revoke")
    assert response.status_code == 303 and _status(session, Firm, world.firm_id) is FirmStatus.REVOKED
    assert {_status(session, VehiclePass, pid) for pid in (active, suspended)} == {PassStatus.REVOKED}
    html = page(client, f"/console/firms/{world.firm_id}")[1]
    assert 'id="firm-actions"' not in html  # nothing follows a revocation
    response = post_with_token(client, url, {"action": "reinstate", "reason": "x"}, token_page=f"/console/firms/{world.firm_id}")
    assert response.status_code == 409 and _status(session, Firm, world.firm_id) is FirmStatus.REVOKED


def _pass(session, pass_id):
    session.rollback()
    session.expire_all()
    return session.get(VehiclePass, pass_id)


def test_suspending_a_driver_stops_the_passes_naming_it_and_reinstating_lifts_them(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    pid = issued(client, world)["id"]
    console_user(client, session, areas, now, area_code="440304")
    person_url = f"/console/people/{world.driver_id}/decision"
    html = page(client, person_url + "?action=suspend")[1]
    assert pid in html and "此操作将影响 1 张通行证" in html  # the preview lists what the change will do
    post_with_token(client, person_url, {"action": "suspend", "reason": "证件待核实"}, token_page=person_url + "?action=suspend")
    suspended = _pass(session, pid)
    assert suspended.status is PassStatus.SUSPENDED and suspended.suspension_cause.value == "entry_suspended"

    # The vehicle is suspended too: reinstating the driver alone does not lift the pass, and says so first.
    vehicle_url = f"/console/vehicles/{world.vehicle_ids[0]}/decision"
    post_with_token(client, vehicle_url, {"action": "suspend", "reason": "刹车故障"}, token_page=vehicle_url + "?action=suspend")
    assert "此操作将影响 0 张通行证" in page(client, person_url + "?action=reinstate")[1]
    post_with_token(client, person_url, {"action": "reinstate", "reason": "已核实"}, token_page=person_url + "?action=reinstate")
    assert _pass(session, pid).status is PassStatus.SUSPENDED

    html = page(client, vehicle_url + "?action=reinstate")[1]
    assert pid in html and "此操作将影响 1 张通行证" in html
    post_with_token(client, vehicle_url, {"action": "reinstate", "reason": "已修好"}, token_page=vehicle_url + "?action=reinstate")
    lifted = _pass(session, pid)
    assert lifted.status is PassStatus.ACTIVE and lifted.suspension_cause is None
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action.in_(("pass.suspended", "pass.reinstated"))).order_by(AuditEntry.id)).all()
    assert [(e.action, e.object_type) for e in entries] == [("pass.suspended", "person"), ("pass.reinstated", "vehicle")]


def test_reinstating_a_driver_does_not_lift_a_pass_suspended_for_another_cause(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    pid = issued(client, world)["id"]
    console_user(client, session, areas, now, area_code="440304")
    pass_url = f"/console/passes/{pid}/suspend"
    post_with_token(client, pass_url, {"reason": "路线不符"}, token_page=f"/console/passes/{pid}")
    assert _pass(session, pid).status is PassStatus.SUSPENDED
    person_url = f"/console/people/{world.driver_id}/decision"
    post_with_token(client, person_url, {"action": "suspend", "reason": "证件待核实"}, token_page=person_url + "?action=suspend")
    post_with_token(client, person_url, {"action": "reinstate", "reason": "已核实"}, token_page=person_url + "?action=reinstate")
    still = _pass(session, pid)
    assert still.status is PassStatus.SUSPENDED and still.suspension_cause.value == "regulator"

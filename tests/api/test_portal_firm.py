"""The public firm application (/portal/apply) and the portal's dashboard."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from checkpoints.alerts import raise_alert
from checkpoints.models import AlertKind
from core.accounts import SYSTEM, Account, FirmRole, Role
from core.db import transaction
from tests.api.helpers import count, fetch, uscc
from tests.api.pass_helpers import apply, build_world, issued
from tests.api.portal_helpers import HOSTILE, field_error, firm_user, page, value_of
from tests.api.web_helpers import csrf_token_of, html_of, post_form, sign_in
from tests.factories import WEB_PASSWORD, make_firm, make_web_user
from whitelist.models import Firm, FirmStatus
from whitelist.services import change_firm_status

PASSWORD = "lettuce crates 2026"
APPLICATION = {"name": "深圳市鲜果配送有限公司", "uscc": uscc("MA5G0042"), "category": "vegetables",
               "area_code": "440304001", "address": "福田区园岭街道 8 号", "contact_name": "何经理",
               "contact_phone": "13800138001", "username": "Fruit.Manager", "password": PASSWORD,
               "password2": PASSWORD}


def test_a_firm_applies_and_lands_signed_in_on_its_pending_dashboard(client, session):
    response = post_form(client, "/portal/apply", APPLICATION)
    assert response.status_code == 303 and response.headers["Location"] == "/portal/"
    firm = fetch(session, select(Firm)).scalars().one()
    assert (firm.name, firm.status, firm.area_code) == ("深圳市鲜果配送有限公司", FirmStatus.PENDING, "440304001")
    account = fetch(session, select(Account).where(Account.firm_id == firm.id)).scalars().one()
    assert (account.username, account.firm_role) == ("fruit.manager", FirmRole.MANAGER)
    dashboard, html = page(client, "/portal/")
    assert dashboard.status_code == 200 and 'class="status status-pending"' in html and "深圳市鲜果配送有限公司" in html
    assert 'id="next-action" href="/portal/people"' in html
    client.post("/signout", data={"csrf_token": csrf_token_of(html)})
    assert sign_in(client, "fruit.manager", PASSWORD).headers["Location"] == "/portal/"  # the chosen password


@pytest.mark.parametrize("field, value, message", [
    ("name", "", "此项必填。"),
    ("uscc", "91440300MA5G00000X", "校验码不符，请核对。"),
    ("uscc", "123", "统一社会信用代码须为 18 位。"),
    ("category", "", "此项必填。"),
    ("category", "weapons", "请从列表中选择。"),
    ("area_code", "", "此项必填。"),
    ("area_code", "440300", "请选择一个区或街道。"),
    ("area_code", "999999", "没有这个区域，请从列表中选择。"),
    ("address", "", "此项必填。"),
    ("contact_name", "", "此项必填。"),
    ("contact_phone", "12", "不是有效的内地或香港电话号码。"),
    ("username", "", "请填写用户名。"),
    ("username", "陈 经理", "用户名须为 3 到 64 个英文字母、数字或 . _ @ -，以字母或数字开头。"),
    ("password", "", "请填写密码。"),
    ("password", "short", "密码至少 10 个字符。"),
    ("password2", "something else", "两次输入的密码不一致。"),
])
def test_every_fields_error_is_shown_beside_it_with_the_input_kept_and_nothing_written(client, session, field,
                                                                                       value, message):
    form = {**APPLICATION, field: value}
    if field == "password":
        form["password2"] = value
    response = post_form(client, "/portal/apply", form)
    html = html_of(response)
    assert response.status_code == 422 and field_error(html, field) == message, html
    assert value_of(html, "name") == form["name"] and value_of(html, "address") == form["address"]
    assert value_of(html, "password") == ""  # a password is never sent back
    assert count(session, Firm) == 0 and count(session, Account) == 0


def test_a_taken_user_name_or_credit_code_is_shown_beside_it(client, session, areas, now):
    firm, _ = make_firm(session, areas, now, uscc=APPLICATION["uscc"])
    response = post_form(client, "/portal/apply", APPLICATION)
    assert response.status_code == 422 and field_error(html_of(response), "uscc") == "此统一社会信用代码已登记。"
    make_web_user(session, areas, now, Role.FIRM, username="fruit.manager", firm_id=firm.id)
    response = post_form(client, "/portal/apply", {**APPLICATION, "uscc": uscc("MA5G0043")})
    assert response.status_code == 422 and field_error(html_of(response), "username") == "此用户名已被使用，请换一个。"
    assert count(session, Firm) == 1


def test_a_forged_application_without_the_pages_token_is_refused(client, session):
    response = client.post("/portal/apply", data=APPLICATION)
    assert response.status_code == 400 and "页面已过期" in html_of(response) and count(session, Firm) == 0


def test_applications_are_rate_limited_per_address_as_in_the_api(app_factory, session):
    client = app_factory(RATELIMIT_REGISTRATION="1 per hour").test_client()
    assert post_form(client, "/portal/apply", APPLICATION).status_code == 303
    client.post("/signout", data={"csrf_token": csrf_token_of(html_of(client.get("/portal/")))})
    response = post_form(client, "/portal/apply", {**APPLICATION, "uscc": uscc("MA5G0043"), "username": "b.user"})
    assert response.status_code == 429 and "操作太频繁" in html_of(response) and count(session, Firm) == 1


@pytest.mark.parametrize("name", HOSTILE[:3])
def test_hostile_names_are_inert_on_the_form_and_the_dashboard(client, session, name):
    html = html_of(post_form(client, "/portal/apply", {**APPLICATION, "name": name, "contact_phone": "1"}))
    assert "<script>alert" not in html and "<img src=x" not in html
    response = post_form(client, "/portal/apply", {**APPLICATION, "name": name})
    if "\u202e" in name.lower():  # direction overrides are refused in text (issue 12), beside the field
        assert response.status_code == 422 and 'id="f-name-error"' in html_of(response)
        assert count(session, Firm) == 0
        return
    assert response.status_code == 303
    html = page(client, "/portal/")[1]
    assert "<script>alert" not in html and "<img src=x" not in html


# ---- the dashboard -----------------------------------------------------------------------------------

def test_the_dashboard_counts_passes_lists_those_expiring_and_the_firms_alerts(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    make_web_user(session, areas, now, Role.FIRM, username="hjx.clerk", firm_id=world.firm_id,
                  firm_role=FirmRole.CLERK)
    assert sign_in(client, "hjx.clerk", WEB_PASSWORD).status_code == 303
    apply(client, world, vehicle=0)                      # pending
    soon = issued(client, world, vehicle=1, days=0.5)    # active, ends within 24 h
    issued(client, world, vehicle=2, days=3)             # active, later
    other, _ = make_firm(session, areas, now, uscc=uscc("MA5G0009"), area_code="440305", name="南山冷链")
    with transaction(session):
        raise_alert(session, AlertKind.CLONE_SUSPECTED, area_code="440304", subject_type="pass", subject_id=soon["id"],
                    details={}, actor=SYSTEM, now=now)
        raise_alert(session, AlertKind.RETURN_OVERDUE, area_code="440305", subject_type="handover", subject_id="77",
                    details={}, actor=SYSTEM, now=now)  # not this firm's
    response, html = page(client, "/portal/")
    assert response.status_code == 200
    counts = html.split('id="pass-counts"')[1].split("</dl>")[0]
    assert "<dt>待审批</dt><dd>1</dd>" in counts and "<dt>有效</dt><dd>2</dd>" in counts
    assert "<dt>有效</dt><dd>4</dd>" in html.split('id="vehicle-counts"')[1].split("</dl>")[0]
    expiring = html.split('id="expiring"')[1].split("</ul>")[0]
    assert "粤B23456" in expiring and "粤B34567" not in expiring
    alerts = html.split('id="alerts"')[1].split("</ul>")[0]
    assert soon["id"] in alerts and "疑似套用通行证" in alerts and alerts.count("<li") == 1 and "接驳单" not in alerts
    assert other.name not in html


def test_a_suspended_firm_sees_why_and_what_to_do(client, session, areas, now):
    firm, _ = firm_user(client, session, areas, now)
    change_firm_status(session, firm.id, "suspend", actor=SYSTEM, areas=areas, now=now + timedelta(minutes=1),
                       reason="<b>超范围运输</b>")
    html = page(client, "/portal/")[1]
    assert 'status-suspended' in html and "&lt;b&gt;超范围运输&lt;/b&gt;" in html and "请联系所在区的主管部门" in html
    assert 'id="next-action"' not in html


def test_a_signed_in_firm_user_is_sent_from_the_application_to_the_dashboard(client, session, areas, now):
    firm_user(client, session, areas, now)
    response = client.get("/portal/apply")
    assert response.status_code == 303 and response.headers["Location"] == "/portal/"

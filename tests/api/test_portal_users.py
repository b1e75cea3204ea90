"""The portal's colleagues page: managers add and revoke, clerks only look, revoking ends sessions at once."""
import pytest
from sqlalchemy import select

from core.accounts import Account, FirmRole, Role
from tests.api.helpers import fetch
from tests.api.portal_helpers import HOSTILE, field_error, firm_user, other_firm, page, value_of
from tests.api.web_helpers import csrf_token_of, html_of, post_form, sign_in
from tests.factories import WEB_PASSWORD, make_web_user

NEW = {"name": "王办事员", "username": "wang.clerk", "password": "counter clerk 42", "password2": "counter clerk 42",
       "firm_role": "clerk"}


def _account(session, username) -> Account | None:
    session.expire_all()
    return fetch(session, select(Account).where(Account.username == username)).scalars().one_or_none()


@pytest.fixture
def manager(client, session, areas, now):
    return firm_user(client, session, areas, now)


def test_a_manager_adds_a_clerk_who_can_then_sign_in(client, app, session, manager):
    firm, _ = manager
    response = post_form(client, "/portal/users", NEW, page_url="/portal/users")
    assert response.status_code == 303
    clerk = _account(session, "wang.clerk")
    assert (clerk.firm_id, clerk.firm_role, clerk.token_hash) == (firm.id, FirmRole.CLERK, None)
    html = page(client, "/portal/users")[1]
    assert "王办事员" in html and "已为 王办事员 开通账号：wang.clerk" in html
    assert sign_in(app.test_client(), "wang.clerk", NEW["password"]).headers["Location"] == "/portal/"


@pytest.mark.parametrize("field, value, message", [
    ("username", "x", "用户名须为 3 到 64 个英文字母、数字或 . _ @ -，以字母或数字开头。"),
    ("username", "hjx.manager", "此用户名已被使用，请换一个。"),
    ("password", "short", "密码至少 10 个字符。"),
    ("password2", "different password", "两次输入的密码不一致。"),
    ("name", "", "此项必填。"),
    ("firm_role", "owner", "请从列表中选择。"),
])
def test_bad_input_is_shown_beside_its_field_and_nothing_is_added(client, session, manager, field, value, message):
    form = {**NEW, field: value}
    if field == "password":
        form["password2"] = value
    response = post_form(client, "/portal/users", form, page_url="/portal/users")
    html = html_of(response)
    assert response.status_code == 422 and field_error(html, field) == message
    assert value_of(html, "username") == form["username"] and value_of(html, "password") == ""
    assert _account(session, "wang.clerk") is None


def test_revoking_a_colleague_ends_their_session_at_once(client, app, session, areas, now, manager):
    firm, _ = manager
    colleague = make_web_user(session, areas, now, Role.FIRM, username="li.clerk", firm_id=firm.id,
                              firm_role=FirmRole.CLERK, name="李办事员")
    theirs = app.test_client()
    assert sign_in(theirs, "li.clerk", WEB_PASSWORD).status_code == 303
    assert theirs.get("/portal/people").status_code == 200
    html = page(client, "/portal/users")[1]
    assert f'id="revoke-{colleague.id}"' in html and f'id="revoke-{manager[1].id}"' not in html  # not oneself
    response = client.post(f"/portal/users/{colleague.id}/revoke", data={"csrf_token": csrf_token_of(html)})
    assert response.status_code == 303 and _account(session, "li.clerk").revoked_at is not None
    after = theirs.get("/portal/people")
    assert after.status_code == 303 and after.headers["Location"].startswith("/signin")
    assert "已停用" in page(client, "/portal/users")[1]


def test_a_clerk_sees_the_list_without_buttons_and_a_forged_form_gets_the_403_page(client, session, areas, now):
    firm, clerk = firm_user(client, session, areas, now, username="li.clerk", firm_role=FirmRole.CLERK)
    manager = make_web_user(session, areas, now, Role.FIRM, username="boss", firm_id=firm.id,
                            firm_role=FirmRole.MANAGER, name="老板")
    response, html = page(client, "/portal/users")
    assert response.status_code == 200 and "老板" in html and "revoke-" not in html and 'id="add-user"' not in html
    token = csrf_token_of(html)
    forged = client.post("/portal/users", data={"csrf_token": token, **NEW})
    assert forged.status_code == 403 and "没有权限" in html_of(forged) and _account(session, "wang.clerk") is None
    forged = client.post("/portal/users", data={"csrf_token": token})  # even an empty form
    assert forged.status_code == 403
    revoke = client.post(f"/portal/users/{manager.id}/revoke", data={"csrf_token": token})
    assert revoke.status_code == 403 and _account(session, "boss").revoked_at is None


def test_another_firms_account_is_not_found(client, session, areas, now, manager):
    stranger = make_web_user(session, areas, now, Role.FIRM, username="nanshan.user",
                             firm_id=other_firm(session, areas, now).id)
    token = csrf_token_of(page(client, "/portal/users")[1])
    response = client.post(f"/portal/users/{stranger.id}/revoke", data={"csrf_token": token})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert _account(session, "nanshan.user").revoked_at is None
    assert "nanshan.user" not in page(client, "/portal/users")[1]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_colleague_names_are_inert(client, session, areas, now, manager, name):
    make_web_user(session, areas, now, Role.FIRM, username="odd.user", firm_id=manager[0].id, name=name[:128])
    html = page(client, "/portal/users")[1]
    assert "<script>alert" not in html and "<img src=x" not in html
    html = html_of(post_form(client, "/portal/users", {**NEW, "name": name}, page_url="/portal/users"))
    assert "<script>alert" not in html and "<img src=x" not in html

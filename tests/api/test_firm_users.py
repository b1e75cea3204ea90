"""POST /firms with a first web user, and a firm's colleagues: /firms/ID/users."""
import pytest
from sqlalchemy import func, select

from core.accounts import SYSTEM, Account, FirmRole, Role, create_account
from core.websessions import SessionInvalid, look_up_session, start_session
from tests.api.helpers import API, assert_problem, audit_rows, count, fetch, firm_json, uscc
from tests.factories import bearer, make_firm, make_token

PASSWORD = "firm manager password"


def _apply(client, **extra):
    return client.post(f"{API}/firms", json=firm_json(**extra))


def _account(session, **where) -> Account:
    query = select(Account)
    for key, value in where.items():
        query = query.where(getattr(Account, key) == value)
    return fetch(session, query).scalars().one()


# ---- the firm's first web user ----------------------------------------------------------------------

def test_an_application_with_a_user_name_makes_the_firm_account_a_web_user_too(client, session):
    response = _apply(client, username="Chen.Manager", password=PASSWORD)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["account_token"].startswith("gl_") and "password" not in body and "username" not in body
    account = _account(session, firm_id=body["id"])
    assert (account.username, account.firm_role, account.role) == ("chen.manager", FirmRole.MANAGER, Role.FIRM)
    assert account.password_hash.startswith("$argon2id$") and account.token_hash is not None
    created = audit_rows(session, action="account.created", object_id=account.id)[0]
    assert created.changes["username"] == "chen.manager" and created.changes["password"] is True
    assert PASSWORD not in str([row.changes for row in audit_rows(session)])
    # The token still works for the API, as before.
    assert client.get(f"{API}/me", headers=bearer(body["account_token"])).get_json()["firm_id"] == body["id"]


def test_an_application_without_a_user_name_is_unchanged(client, session):
    response = _apply(client)
    assert response.status_code == 201
    account = _account(session, firm_id=response.get_json()["id"])
    assert (account.username, account.password_hash, account.firm_role) == (None, None, FirmRole.MANAGER)


def test_a_taken_user_name_is_a_409_and_nothing_is_registered(client, session):
    assert _apply(client, username="chen.manager", password=PASSWORD).status_code == 201
    firms, entries = count(session, Account), len(audit_rows(session))
    body = assert_problem(_apply(client, uscc=uscc("MA5G0001"), username="CHEN.MANAGER", password=PASSWORD),
                          409, "username_taken")
    assert "chen.manager" in body["detail"]
    assert count(session, Account) == firms and len(audit_rows(session)) == entries
    assert fetch(session, select(func.count()).select_from(Account).where(Account.username.is_not(None))).scalar() == 1


@pytest.mark.parametrize("extra, errors", [
    ({"password": PASSWORD}, {"username": ["give a user name with the password"]}),
    ({"username": "chen.manager"}, {"password": ["give a password with the user name"]}),
    ({"username": "chen.manager", "password": "short"}, {"password": ["use at least 10 characters"]}),
    ({"username": "chen.manager1", "password": "Chen.Manager1"}, {"password": ["must not be the user name"]}),
    ({"username": "陈 经理", "password": PASSWORD},
     {"username": ["use 3-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"]}),
    ({"username": "chen.manager", "password": "x" * 257}, {"password": ["Longer than maximum length 256."]}),
])
def test_bad_credentials_in_an_application_are_a_422_beside_the_field(client, session, extra, errors):
    body = assert_problem(_apply(client, **extra), 422, "validation_failed")
    assert body["errors"] == errors
    assert count(session, Account) == 0 and audit_rows(session) == []


# ---- colleagues -------------------------------------------------------------------------------------

@pytest.fixture
def firm(session, areas, now):
    firm, manager_token = make_firm(session, areas, now)
    return firm, manager_token


def _colleague(**overrides):
    return {"name": "王会计", "username": "wang.clerk", "password": "clerk password 1", "firm_role": "clerk",
            **overrides}


def test_a_manager_adds_a_colleague_who_signs_in_but_has_no_token(client, session, firm):
    firm, token = firm
    response = client.post(f"{API}/firms/{firm.id}/users", json=_colleague(), headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert {k: body[k] for k in ("name", "username", "firm_role", "firm_id", "has_token", "second_factor",
                                 "revoked_at")} == {"name": "王会计", "username": "wang.clerk", "firm_role": "clerk",
                                                    "firm_id": firm.id, "has_token": False,
                                                    "second_factor": False, "revoked_at": None}
    account = _account(session, id=body["id"])
    assert account.token_hash is None and account.password_hash.startswith("$argon2id$")
    assert audit_rows(session, action="account.created", object_id=account.id)[0].actor_role == "firm"

    listed = client.get(f"{API}/firms/{firm.id}/users", headers=bearer(token))
    assert listed.status_code == 200
    users = listed.get_json()
    assert [u["username"] for u in users] == [None, "wang.clerk"]
    assert [u["firm_role"] for u in users] == ["manager", "clerk"]
    assert all(set(u) == set(body) for u in users) and "hash" not in listed.get_data(as_text=True)


def test_a_clerk_may_list_but_not_add_or_revoke_users(client, session, areas, now, firm):
    firm, manager_token = firm
    clerk, clerk_token = create_account(session, name="clerk with a token", role=Role.FIRM, firm_id=firm.id,
                                        firm_role=FirmRole.CLERK, areas=areas, actor=SYSTEM, now=now)
    before = count(session, Account)
    assert_problem(client.post(f"{API}/firms/{firm.id}/users", json=_colleague(), headers=bearer(clerk_token)),
                   403, "forbidden")
    assert_problem(client.post(f"{API}/firms/{firm.id}/users/{clerk.id}/revoke", headers=bearer(clerk_token)),
                   403, "forbidden")
    assert count(session, Account) == before and _account(session, id=clerk.id).revoked_at is None
    assert client.get(f"{API}/firms/{firm.id}/users", headers=bearer(clerk_token)).status_code == 200


def test_a_firm_sees_only_its_own_users(client, session, areas, now, firm):
    firm, token = firm
    other, other_token = make_firm(session, areas, now, uscc="92440300L00000003P", name="另一家公司")
    other_account = _account(session, firm_id=other.id)
    for method, path in (("GET", f"/firms/{other.id}/users"), ("POST", f"/firms/{other.id}/users"),
                         ("POST", f"/firms/{other.id}/users/{other_account.id}/revoke"),
                         ("POST", f"/firms/{firm.id}/users/{other_account.id}/revoke"),
                         ("GET", "/firms/99999/users")):
        body = assert_problem(client.open(API + path, method=method, json=_colleague(), headers=bearer(token)), 404)
        assert body["code"] in ("firm_not_found", "not_found")
    assert _account(session, id=other_account.id).revoked_at is None
    admin = make_token(session, areas, now, Role.ADMIN)
    assert_problem(client.get(f"{API}/firms/99999/users", headers=bearer(admin)), 404, "firm_not_found")
    assert client.get(f"{API}/firms/{other.id}/users", headers=bearer(admin)).status_code == 200


def test_a_taken_user_name_for_a_colleague_is_a_409_with_nothing_written(client, session, firm):
    firm, token = firm
    assert client.post(f"{API}/firms/{firm.id}/users", json=_colleague(), headers=bearer(token)).status_code == 201
    before, entries = count(session, Account), len(audit_rows(session))
    assert_problem(client.post(f"{API}/firms/{firm.id}/users", json=_colleague(username="WANG.CLERK", name="x"),
                               headers=bearer(token)), 409, "username_taken")
    assert count(session, Account) == before and len(audit_rows(session)) == entries


def test_bad_colleague_input_is_a_422(client, session, firm):
    firm, token = firm
    body = assert_problem(client.post(f"{API}/firms/{firm.id}/users", json=_colleague(password="wang.clerk",
                                                                                        firm_role="owner"),
                                      headers=bearer(token)), 422)
    assert body["errors"]["firm_role"] and body["errors"]["password"] == ["must not be the user name"]


def test_revoking_a_colleague_ends_their_sessions_at_once(app, client, session, now, firm):
    firm, token = firm
    created = client.post(f"{API}/firms/{firm.id}/users", json=_colleague(), headers=bearer(token)).get_json()
    policy = app.extensions["session_policy"]
    _, session_token = start_session(session, session.get(Account, created["id"]), policy=policy, now=now)
    response = client.post(f"{API}/firms/{firm.id}/users/{created['id']}/revoke", headers=bearer(token))
    assert response.status_code == 200 and response.get_json()["revoked_at"] is not None
    with pytest.raises(SessionInvalid):
        look_up_session(session, session_token, policy=policy, now=now)
    revoked = audit_rows(session, action="account.revoked", object_id=created["id"])
    assert len(revoked) == 1 and revoked[0].changes == {"sessions_ended": 1}
    # Twice is harmless and audited once.
    assert client.post(f"{API}/firms/{firm.id}/users/{created['id']}/revoke", headers=bearer(token)).status_code == 200
    assert len(audit_rows(session, action="account.revoked", object_id=created["id"])) == 1


def test_a_firm_name_of_200_characters_registers_and_its_first_user_is_named_after_the_contact(client, session):
    name = "深圳市" + "长" * 190 + "有限公司配送"
    assert len(name) == 199
    response = _apply(client, name=name, username="long.name", password=PASSWORD)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == name
    assert _account(session, username="long.name").name == "陈经理"  # the contact who applied
    token_only = _apply(client, name=name + "x" * (200 - len(name)), uscc=uscc("MA5G0002"))
    assert token_only.status_code == 201, token_only.get_json()

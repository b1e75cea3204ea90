"""`flask users create --username NAME --password-prompt` and `users revoke` ending web sessions."""
import pytest
from sqlalchemy import select

from core.accounts import Account, FirmRole, find_account_by_token
from core.signin import sign_in
from core.websessions import SessionInvalid, look_up_session, start_session

PASSWORD = "operator password 1"


def _create(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["users", "create", "--name", "Futian regulator", "--role", "regulator",
                                              "--area", "440304", *args], input=input)


def test_a_user_name_and_prompted_password_are_stored_and_the_token_is_still_the_last_line(app, session, now):
    result = _create(app, "--username", "Futian.Reg", "--password-prompt", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert "signs in as futian.reg" in lines[-2]
    account = find_account_by_token(session, lines[-1])
    assert account.username == "futian.reg" and account.password_hash.startswith("$argon2id$")
    signed_in = sign_in(session, "futian.reg", PASSWORD, address="cli-test", now=now,
                        passwords=app.extensions["passwords"], throttle=app.extensions["signin_throttle"])
    assert signed_in.id == account.id


def test_without_a_user_name_the_command_is_unchanged(app, session):
    result = _create(app)
    assert result.exit_code == 0, result.output
    account = find_account_by_token(session, result.output.strip().splitlines()[-1])
    assert account.username is None and account.password_hash is None


@pytest.mark.parametrize("args, input, message", [
    (["--username", "futian.reg", "--password-prompt"], "short\nshort\n", "use at least 10 characters"),
    (["--username", "futian.reg", "--password-prompt"], "Futian.Reg\nFutian.Reg\n", "must not be the user name"),
    (["--username", "futian.reg"], None, "--username and --password-prompt go together"),
    (["--password-prompt"], None, "--username and --password-prompt go together"),
    (["--username", "a b", "--password-prompt"], None, "username: use 3-64 letters"),
    (["--username", "futian.reg", "--password-prompt"], f"{PASSWORD}\nsomething else\n", "do not match"),
])
def test_bad_credentials_create_nothing(app, session, args, input, message):
    result = _create(app, *args, input=input)
    assert result.exit_code != 0 and message in result.output, result.output
    assert session.scalars(select(Account)).all() == []


def test_a_taken_user_name_is_refused(app, session):
    assert _create(app, "--username", "futian.reg", "--password-prompt", input=f"{PASSWORD}\n{PASSWORD}\n").exit_code == 0
    result = _create(app, "--username", "FUTIAN.REG", "--password-prompt", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 1 and "futian.reg is taken" in result.output
    assert len(session.scalars(select(Account)).all()) == 1


def test_a_firm_account_gets_the_firm_role_given(app, session, areas, now):
    from tests.factories import make_firm
    firm, _ = make_firm(session, areas, now)
    result = app.test_cli_runner().invoke(args=["users", "create", "--name", "clerk", "--role", "firm", "--firm",
                                                str(firm.id), "--firm-role", "clerk"])
    assert result.exit_code == 0, result.output
    assert find_account_by_token(session, result.output.strip().splitlines()[-1]).firm_role is FirmRole.CLERK


def test_users_revoke_ends_the_accounts_web_sessions(app, session, now):
    result = _create(app, "--username", "futian.reg", "--password-prompt", input=f"{PASSWORD}\n{PASSWORD}\n")
    account = find_account_by_token(session, result.output.strip().splitlines()[-1])
    policy = app.extensions["session_policy"]
    _, token = start_session(session, account, policy=policy, now=now)
    assert app.test_cli_runner().invoke(args=["users", "revoke", str(account.id)]).exit_code == 0
    session.expire_all()
    with pytest.raises(SessionInvalid):
        look_up_session(session, token, policy=policy, now=now)

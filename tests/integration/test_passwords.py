"""Passwords, sign-in throttling, web sessions and the TOTP second factor, against a real database."""
from datetime import timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from core.accounts import SYSTEM, Account, FirmRole, Role, create_account, revoke_account
from core.audit import AuditEntry
from core.passwords import Passwords, normalise_username, password_problems
from core.signin import SignInFailed, SignInThrottled, Throttle, set_password, sign_in
from core.totp import PURPOSE, SecondFactorInvalid, enroll_totp, verify_second_factor
from core.websessions import SessionInvalid, SessionPolicy, WebSession, end_session, look_up_session, start_session

PASSWORD = "correct horse battery"
FAST = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
THROTTLE = Throttle(per_account=3, per_address=5, window=timedelta(minutes=15))
POLICY = SessionPolicy(idle=timedelta(hours=8), absolute=timedelta(hours=24))


def _person(session, areas, now, *, username="Chen.Li", role=Role.ADMIN, **extra):
    account, _ = create_account(session, name="陈丽", role=role, username=normalise_username(username),
                                password_hash=FAST.hash(PASSWORD), areas=areas, actor=SYSTEM, now=now, **extra)
    return account


def _actions(session, object_id) -> list[str]:
    session.commit()
    return [e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.object_id == str(object_id))
                                              .order_by(AuditEntry.seq))]


def _sign_in(session, username, password, now, address="10.0.0.1", passwords=FAST):
    return sign_in(session, username, password, address=address, now=now, passwords=passwords, throttle=THROTTLE)


# ---- pure rules -----------------------------------------------------------------------------------

def test_a_password_needs_ten_characters_and_must_not_be_the_user_name():
    assert password_problems("short", username="chen") == ["use at least 10 characters"]
    assert password_problems("Chen.Li.Futian", username="chen.li.futian") == ["must not be the user name"]
    assert password_problems("x" * 257, username=None) == ["use at most 256 characters"]
    assert password_problems(PASSWORD, username="chen.li") == []


def test_user_names_are_lower_case_and_plain():
    assert normalise_username("  Chen.Li@Futian ") == "chen.li@futian"
    for bad in ("ab", "-chen", "chen li", "陈丽丽", "x" * 65):
        with pytest.raises(ValueError):
            normalise_username(bad)


# ---- sign-in ----------------------------------------------------------------------------------------

def test_sign_in_finds_the_account_in_any_letter_case_and_audits_it(session, areas, now):
    account = _person(session, areas, now)
    assert account.username == "chen.li" and account.password_hash.startswith("$argon2id$")
    assert _sign_in(session, "CHEN.LI", PASSWORD, now).id == account.id
    assert _actions(session, account.id)[-1] == "account.signed_in"
    assert PASSWORD not in str([e.changes for e in session.scalars(select(AuditEntry))])


def test_unknown_user_wrong_password_and_revoked_account_get_the_same_error(session, areas, now):
    account = _person(session, areas, now)
    revoked = _person(session, areas, now, username="gone.user")
    revoke_account(session, revoked.id, actor=SYSTEM, now=now)
    errors = []
    for username, password in (("nobody", PASSWORD), ("chen.li", "wrong password!"), ("gone.user", PASSWORD)):
        with pytest.raises(SignInFailed) as caught:
            _sign_in(session, username, password, now, address=f"10.0.0.{len(errors) + 2}")
        errors.append((caught.value.status, caught.value.code, caught.value.message))
    assert errors == [(401, "sign_in_failed", "Wrong user name or password")] * 3
    assert _actions(session, account.id)[-1] == "account.sign_in_failed"
    assert _actions(session, "nobody") == ["account.sign_in_failed"]


def test_an_account_is_throttled_after_repeated_failures_even_with_the_right_password(session, areas, now):
    account = _person(session, areas, now)
    for minute in range(3):
        with pytest.raises(SignInFailed):
            _sign_in(session, "chen.li", "wrong password!", now + timedelta(minutes=minute),
                     address=f"10.0.1.{minute}")
    with pytest.raises(SignInThrottled) as caught:
        _sign_in(session, "chen.li", PASSWORD, now + timedelta(minutes=3), address="10.0.2.1")
    assert caught.value.status == 429 and caught.value.headers == {"Retry-After": str(12 * 60)}
    assert _actions(session, "chen.li") == ["account.sign_in_throttled"]
    # Once the oldest failure leaves the window, the right password works and clears the count.
    assert _sign_in(session, "chen.li", PASSWORD, now + timedelta(minutes=15, seconds=1)).id == account.id
    assert _sign_in(session, "chen.li", PASSWORD, now + timedelta(minutes=16)).id == account.id


def test_unknown_user_names_are_throttled_like_known_ones(session, areas, now):
    for _ in range(3):
        with pytest.raises(SignInFailed):
            _sign_in(session, "nobody", PASSWORD, now, address="10.0.3.1")
    with pytest.raises(SignInThrottled):
        _sign_in(session, "nobody", PASSWORD, now, address="10.0.3.2")


def test_one_address_is_throttled_across_user_names(session, areas, now):
    _person(session, areas, now)
    for i in range(5):
        with pytest.raises(SignInFailed):
            _sign_in(session, f"guess{i}", PASSWORD, now, address="10.9.9.9")
    with pytest.raises(SignInThrottled):
        _sign_in(session, "chen.li", PASSWORD, now, address="10.9.9.9")
    assert _sign_in(session, "chen.li", PASSWORD, now, address="10.9.9.8").username == "chen.li"


def test_a_hash_made_with_old_parameters_is_replaced_at_sign_in(session, areas, now):
    account = _person(session, areas, now)
    old_hash = account.password_hash
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    _sign_in(session, "chen.li", PASSWORD, now, passwords=stronger)
    session.commit()
    stored = session.get(Account, account.id).password_hash
    assert stored != old_hash and not stronger.needs_rehash(stored) and "t=2" in stored
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "account.signed_in")).one()
    assert entry.changes == {"address": "10.0.0.1", "password_rehashed": True}


def test_the_production_hasher_is_argon2id_with_the_configured_cost(app):
    stored = app.extensions["passwords"].hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert app.extensions["passwords"].verify_or_dummy(stored, PASSWORD)
    assert not app.extensions["passwords"].verify_or_dummy(None, PASSWORD)


def test_set_password_checks_the_rules_and_ends_every_session(session, areas, now):
    account = _person(session, areas, now)
    _, token = start_session(session, account, policy=POLICY, now=now)
    from core.errors import Unprocessable
    with pytest.raises(Unprocessable) as caught:
        set_password(session, account.id, "chen.li", passwords=FAST, actor=SYSTEM, now=now)
    assert caught.value.fields == {"password": ["use at least 10 characters", "must not be the user name"]}
    set_password(session, account.id, "a new long password", passwords=FAST, actor=SYSTEM, now=now)
    with pytest.raises(SessionInvalid):
        look_up_session(session, token, policy=POLICY, now=now)
    with pytest.raises(SignInFailed):
        _sign_in(session, "chen.li", PASSWORD, now)
    assert _sign_in(session, "chen.li", "a new long password", now).id == account.id
    assert "account.password_changed" in _actions(session, account.id)


# ---- sessions ---------------------------------------------------------------------------------------

def test_a_session_lives_while_used_and_dies_when_idle_or_too_old(session, areas, now):
    account = _person(session, areas, now)
    web_session, token = start_session(session, account, policy=POLICY, now=now)
    assert web_session.id != token and len(web_session.id) == 64 and token.startswith("gls_")
    t = now
    for _ in range(3):  # used every 7 hours: idle never reached, but 24 hours is the end
        t += timedelta(hours=7)
        assert look_up_session(session, token, policy=POLICY, now=t).account.id == account.id
    with pytest.raises(SessionInvalid):
        look_up_session(session, token, policy=POLICY, now=now + timedelta(hours=24))
    _, idle_token = start_session(session, account, policy=POLICY, now=now)
    with pytest.raises(SessionInvalid):
        look_up_session(session, idle_token, policy=POLICY, now=now + timedelta(hours=8))
    for bad in ("", "gls_unknown", "gl_" + "x" * 40, "gls_" + "x" * 200):
        with pytest.raises(SessionInvalid):
            look_up_session(session, bad, policy=POLICY, now=now)


def test_signing_out_ends_only_that_session(session, areas, now):
    account = _person(session, areas, now)
    _, first = start_session(session, account, policy=POLICY, now=now)
    _, second = start_session(session, account, policy=POLICY, now=now)
    end_session(session, first, now=now + timedelta(minutes=1))
    with pytest.raises(SessionInvalid):
        look_up_session(session, first, policy=POLICY, now=now + timedelta(minutes=2))
    assert look_up_session(session, second, policy=POLICY, now=now + timedelta(minutes=2)).account.id == account.id
    assert _actions(session, account.id).count("session.ended") == 1


def test_revoking_an_account_ends_its_sessions_at_once(session, areas, now):
    account = _person(session, areas, now)
    _, token = start_session(session, account, policy=POLICY, now=now)
    revoke_account(session, account.id, actor=SYSTEM, now=now + timedelta(minutes=5))
    session.commit()
    row = session.scalars(select(WebSession)).one()
    assert row.ended_at == now + timedelta(minutes=5)
    with pytest.raises(SessionInvalid):
        look_up_session(session, token, policy=POLICY, now=now + timedelta(minutes=6))
    revoked = session.scalars(select(AuditEntry).where(AuditEntry.action == "account.revoked")).one()
    assert revoked.changes == {"sessions_ended": 1}


def test_sessions_started_before_sessions_valid_after_are_refused(session, areas, now):
    account = _person(session, areas, now)
    _, token = start_session(session, account, policy=POLICY, now=now)
    session.get(Account, account.id).sessions_valid_after = now + timedelta(seconds=1)
    session.commit()
    with pytest.raises(SessionInvalid):
        look_up_session(session, token, policy=POLICY, now=now + timedelta(seconds=2))


# ---- second factor ----------------------------------------------------------------------------------

def test_a_role_that_requires_2fa_cannot_use_its_session_before_enrolling_and_verifying(session, areas, cipher,
                                                                                        now):
    policy = SessionPolicy(second_factor_roles=frozenset({"regulator"}))
    account = _person(session, areas, now, role=Role.REGULATOR, area_code="440304")
    _, token = start_session(session, account, policy=policy, now=now)
    state = look_up_session(session, token, policy=policy, now=now)
    assert (state.needs_second_factor, state.totp_enrolled) == (True, False)

    uri = enroll_totp(session, account, cipher=cipher, now=now)
    assert uri.startswith("otpauth://totp/GreenLane:chen.li?secret=")
    secret = pyotp.parse_uri(uri).secret
    session.commit()
    stored = session.get(Account, account.id).totp_secret_enc
    assert secret.encode() not in stored and cipher.decrypt(stored, purpose=PURPOSE) == secret
    assert look_up_session(session, token, policy=policy, now=now).needs_second_factor

    code = pyotp.TOTP(secret).at(now)
    state = verify_second_factor(session, token, code, policy=policy, cipher=cipher, now=now)
    assert state.needs_second_factor is False
    assert look_up_session(session, token, policy=policy, now=now).needs_second_factor is False
    assert "account.second_factor_passed" in _actions(session, account.id)


def test_a_code_is_accepted_once_and_five_wrong_codes_end_the_session(session, areas, cipher, now):
    account = _person(session, areas, now)
    secret = pyotp.parse_uri(enroll_totp(session, account, cipher=cipher, now=now)).secret
    _, first = start_session(session, account, policy=POLICY, now=now)
    _, second = start_session(session, account, policy=POLICY, now=now)
    # An enrolled account needs its factor whatever its role.
    assert look_up_session(session, second, policy=POLICY, now=now).needs_second_factor
    code = pyotp.TOTP(secret).at(now)
    verify_second_factor(session, first, code, policy=POLICY, cipher=cipher, now=now)
    with pytest.raises(SecondFactorInvalid):  # the same code again (replay) in another session
        verify_second_factor(session, second, code, policy=POLICY, cipher=cipher, now=now + timedelta(seconds=5))
    for _ in range(4):
        with pytest.raises(SecondFactorInvalid):
            verify_second_factor(session, second, "000000", policy=POLICY, cipher=cipher, now=now)
    with pytest.raises(SessionInvalid):
        verify_second_factor(session, second, pyotp.TOTP(secret).at(now + timedelta(seconds=30)), policy=POLICY,
                             cipher=cipher, now=now + timedelta(seconds=30))


def test_enrolling_twice_is_refused(session, areas, cipher, now):
    from core.errors import InvalidState
    account = _person(session, areas, now)
    enroll_totp(session, account, cipher=cipher, now=now)
    with pytest.raises(InvalidState):
        enroll_totp(session, account, cipher=cipher, now=now)


def test_a_firm_role_belongs_only_to_firm_accounts(session, areas, now):
    from core.errors import Unprocessable
    with pytest.raises(Unprocessable) as caught:
        _person(session, areas, now, firm_role=FirmRole.CLERK)
    assert caught.value.fields == {"firm_role": ["only firm accounts have a firm role"]}
    assert session.scalars(select(Account)).all() == []

"""The optional second factor: TOTP (RFC 6238) through pyotp. The secret is stored encrypted with the
personal-data cipher; each code is accepted once (the last used time step is remembered)."""
import hmac
from datetime import datetime

import pyotp
from sqlalchemy.orm import Session

from core import audit
from core.db import transaction
from core.errors import InvalidState, NotFound, Unauthorized
from core.pii import PersonalDataCipher
from core.websessions import SessionPolicy, SessionState, end_session, look_up_session, mark_second_factor_ok

PURPOSE = "totp_secret"
ISSUER = "GreenLane"
MAX_FAILURES = 5  # wrong codes per session before it ends (the password must be given again)
WINDOW = 1  # time steps either side of now that are accepted (clock drift of phones)


class SecondFactorInvalid(Unauthorized):
    code, title = "second_factor_invalid", "Wrong or already used code"


def enroll_totp(session: Session, account, *, cipher: PersonalDataCipher, now: datetime) -> str:
    """Give `account` a new TOTP secret and return its provisioning URI (for the authenticator app's QR
    code; shown once). Raises InvalidState when a secret is already enrolled."""
    with transaction(session):
        session.refresh(account, with_for_update=True)
        if account.totp_secret_enc is not None:
            raise InvalidState("a second factor is already enrolled")
        secret = pyotp.random_base32()
        account.totp_secret_enc, account.totp_last_step = cipher.encrypt(secret, purpose=PURPOSE), None
        audit.record(session, _actor(account), "account.totp_enrolled", object_type="account",
                     object_id=account.id, at=now)
    return pyotp.TOTP(secret).provisioning_uri(name=account.username or f"account-{account.id}",
                                               issuer_name=ISSUER)


def unconfirmed_provisioning_uri(account, *, cipher: PersonalDataCipher) -> str | None:
    """The provisioning URI again for a secret that no code has confirmed yet (the person may not have
    scanned it, or mistyped the first code); None once a code was accepted or when none is enrolled."""
    if account.totp_secret_enc is None or account.totp_last_step is not None:
        return None
    secret = cipher.decrypt(account.totp_secret_enc, purpose=PURPOSE)
    return pyotp.TOTP(secret).provisioning_uri(name=account.username or f"account-{account.id}", issuer_name=ISSUER)


def matching_step(secret: str, code: str, *, now: datetime, after: int | None) -> int | None:
    """The time step near `now` whose code is `code`, if it is later than `after` (a step already
    used is refused, so an overheard code cannot be replayed); else None."""
    totp, code = pyotp.TOTP(secret), code.strip()
    current = totp.timecode(now)
    for offset in range(-WINDOW, WINDOW + 1):
        step = current + offset
        if (after is None or step > after) and hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            return step
    return None


def verify_second_factor(session: Session, token: str, code: str, *, policy: SessionPolicy,
                         cipher: PersonalDataCipher, now: datetime) -> SessionState:
    """Check a code for the session holding `token` and mark the session's second factor passed.
    After MAX_FAILURES wrong codes the session ends. Raises SessionInvalid, NotFound (no secret
    enrolled), SecondFactorInvalid."""
    state = look_up_session(session, token, policy=policy, now=now)
    account, web_session = state.account, state.web_session
    if account.totp_secret_enc is None:
        raise NotFound("no second factor is enrolled")
    with transaction(session):
        session.refresh(account, with_for_update=True)
        secret = cipher.decrypt(account.totp_secret_enc, purpose=PURPOSE)
        step = matching_step(secret, code, now=now, after=account.totp_last_step)
        if step is not None:
            account.totp_last_step = step
            mark_second_factor_ok(web_session)
            audit.record(session, _actor(account), "account.second_factor_passed", object_type="account",
                         object_id=account.id, at=now)
        else:
            web_session.second_factor_failures += 1
            audit.record(session, _actor(account), "account.second_factor_failed", object_type="account",
                         object_id=account.id, changes={"failures": web_session.second_factor_failures}, at=now)
    if step is None:
        if web_session.second_factor_failures >= MAX_FAILURES:
            end_session(session, token, now=now)
        raise SecondFactorInvalid()
    return SessionState(web_session, account, False, True)


def _actor(account) -> audit.AuditActor:
    return audit.AuditActor(account.id, account.name, account.role.value)

"""Server-side web sessions: the browser holds a random token, the table holds its SHA-256 and the
session's life (idle and absolute limits, sign-out, revocation, the second factor)."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core import audit
from core.db import Base, transaction
from core.errors import Unauthorized

SESSION_TOKEN_PREFIX = "gls_"


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the token, hex
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute end; the idle end follows from last_seen_at
    ended_at: Mapped[datetime | None]
    second_factor_ok: Mapped[bool] = mapped_column(default=False)
    second_factor_failures: Mapped[int] = mapped_column(default=0)

    # By name: core.accounts imports this module (revoking an account ends its sessions).
    account = relationship("Account", lazy="joined", innerjoin=True)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives, and which roles must pass a second factor before it is usable."""

    idle: timedelta = timedelta(hours=8)
    absolute: timedelta = timedelta(hours=24)
    second_factor_roles: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config) -> "SessionPolicy":
        roles = {r.strip().lower() for r in str(config.get("REQUIRE_2FA_ROLES") or "").split(",") if r.strip()}
        return cls(idle=timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])),
                   absolute=timedelta(minutes=int(config["SESSION_ABSOLUTE_MINUTES"])),
                   second_factor_roles=frozenset(roles))


@dataclass(frozen=True)
class SessionState:
    """A live session as a page sees it. Until `needs_second_factor` is False the session may only be
    used to pass (or, with `totp_enrolled` False, first enroll) the second factor."""

    web_session: WebSession
    account: object  # core.accounts.Account
    needs_second_factor: bool
    totp_enrolled: bool


class SessionInvalid(Unauthorized):
    code, title = "session_invalid", "Please sign in again"


def hash_session_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, account, *, policy: SessionPolicy, now: datetime,
                  address: str | None = None) -> tuple[WebSession, str]:
    """Open a session for a signed-in account and return it with its token (the cookie's value, shown
    once, never stored)."""
    token = SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(session):
        web_session = WebSession(id=hash_session_token(token), account_id=account.id, created_at=now,
                                 last_seen_at=now, expires_at=now + policy.absolute, second_factor_ok=False,
                                 second_factor_failures=0)
        session.add(web_session)
        session.flush()
        audit.record(session, _actor(account), "session.started", object_type="account",
                     object_id=account.id, changes={"address": address}, at=now)
    return web_session, token


def look_up_session(session: Session, token: str, *, policy: SessionPolicy, now: datetime) -> SessionState:
    """The live session for this token, its idle clock moved on. Refuses ended, expired and idle
    sessions, revoked accounts and sessions older than the account's `sessions_valid_after`.
    Raises SessionInvalid."""
    if not token.startswith(SESSION_TOKEN_PREFIX) or len(token) > 128:
        raise SessionInvalid()
    with transaction(session):
        web_session = session.get(WebSession, hash_session_token(token))
        if web_session is None or not _alive(web_session, policy=policy, now=now):
            raise SessionInvalid()
        account = web_session.account
        web_session.last_seen_at = now  # not audited: reading is not a change of state
    enrolled = account.totp_secret_enc is not None
    required = enrolled or account.role.value in policy.second_factor_roles
    return SessionState(web_session, account, required and not web_session.second_factor_ok, enrolled)


def end_session(session: Session, token: str, *, now: datetime) -> None:
    """Sign out: the session ends now. An unknown or already ended session is ignored."""
    with transaction(session):
        web_session = session.get(WebSession, hash_session_token(token))
        if web_session is not None and web_session.ended_at is None:
            web_session.ended_at = now
            audit.record(session, _actor(web_session.account), "session.ended", object_type="account",
                         object_id=web_session.account_id, at=now)


def end_all_sessions(session: Session, account, *, now: datetime) -> int:
    """End every session of `account` inside the caller's transaction (revocation, password change)
    and refuse any started before now; return how many were open. The caller audits."""
    account.sessions_valid_after = now
    result = session.execute(update(WebSession).where(WebSession.account_id == account.id,
                                                      WebSession.ended_at.is_(None)).values(ended_at=now))
    return result.rowcount or 0


def mark_second_factor_ok(web_session: WebSession) -> None:
    """Inside the caller's transaction: this session passed its second factor."""
    web_session.second_factor_ok = True


def list_open_sessions(session: Session, account_id: int) -> list[WebSession]:
    return list(session.scalars(select(WebSession).where(WebSession.account_id == account_id,
                                                         WebSession.ended_at.is_(None))
                                .order_by(WebSession.created_at)))


def _alive(web_session: WebSession, *, policy: SessionPolicy, now: datetime) -> bool:
    account = web_session.account
    return (web_session.ended_at is None and now < web_session.expires_at
            and now < web_session.last_seen_at + policy.idle and account.revoked_at is None
            and (account.sessions_valid_after is None or web_session.created_at >= account.sessions_valid_after))


def _actor(account) -> audit.AuditActor:
    return audit.AuditActor(account.id, account.name, account.role.value)

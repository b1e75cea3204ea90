"""Signing in with a user name and password: one answer for every failure, the same time cost, and
throttling per user name and per client address, counted in the database so every app host shares it."""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, websessions
from core.accounts import PUBLIC, Account, Actor, UsernameTaken, find_account_by_username
from core.db import Base, transaction
from core.errors import NotFound, Unauthorized, Unprocessable
from core.passwords import Passwords, password_problems
from core.ratelimit import TooManyRequests


class SignInFailure(Base):
    """One failed sign-in: counted for throttling, deleted when the user signs in. The audit log keeps
    the lasting record."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(64))  # as typed, lower case: unknown names count too
    address: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_sign_in_failures_username_at", "username", "at"),
                      Index("ix_sign_in_failures_address_at", "address", "at"))


@dataclass(frozen=True)
class Throttle:
    """At most `per_account` failures for one user name and `per_address` from one client address
    within `window`; then 429 until the oldest failure leaves the window."""

    per_account: int = 5
    per_address: int = 30
    window: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config) -> "Throttle":
        return cls(per_account=int(config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]),
                   per_address=int(config["SIGNIN_MAX_FAILURES_PER_ADDRESS"]),
                   window=timedelta(minutes=int(config["SIGNIN_WINDOW_MINUTES"])))


class SignInFailed(Unauthorized):
    code, title = "sign_in_failed", "Wrong user name or password"


class SignInThrottled(TooManyRequests):
    code = "sign_in_throttled"


def sign_in(session: Session, username: str, password: str, *, address: str, now: datetime,
            passwords: Passwords, throttle: Throttle) -> Account:
    """The live account with this user name and password. Unknown names, wrong passwords, revoked
    accounts and accounts without a password get the same SignInFailed after the same Argon2 work.
    Raises SignInThrottled (429) after too many recent failures for the name or from the address."""
    name, address = username.strip().lower()[:64], address[:64]
    retry_after = _throttled_for(session, name, address, throttle=throttle, now=now)
    if retry_after is not None:
        with transaction(session):
            audit.record(session, PUBLIC.audit, "account.sign_in_throttled", object_type="account",
                         object_id=name, changes={"address": address}, at=now)
        raise SignInThrottled("too many failed sign-ins; try again later", retry_after=retry_after)
    account = find_account_by_username(session, name)
    usable = account is not None and account.revoked_at is None and account.password_hash is not None
    matches = passwords.verify_or_dummy(account.password_hash if usable else None, password)
    with transaction(session):
        if not (usable and matches):
            session.add(SignInFailure(at=now, username=name, address=address))
            audit.record(session, PUBLIC.audit, "account.sign_in_failed", object_type="account",
                         object_id=account.id if account is not None else name, changes={"address": address}, at=now)
        else:
            session.execute(delete(SignInFailure).where(SignInFailure.username == name))
            changes = {"address": address}
            if passwords.needs_rehash(account.password_hash):
                account.password_hash, changes["password_rehashed"] = passwords.hash(password), True
            audit.record(session, Actor.of(account).audit, "account.signed_in", object_type="account",
                         object_id=account.id, changes=changes, at=now)
    if not (usable and matches):
        raise SignInFailed()
    return account


def set_password(session: Session, account_id: int, password: str, *, passwords: Passwords, actor: Actor,
                 now: datetime) -> Account:
    """Give an account with a user name a new password; every web session it has ends.
    Raises Unprocessable (password rules, no user name), NotFound."""
    with transaction(session):
        account = session.get(Account, account_id, with_for_update=True)
        if account is None:
            raise NotFound(f"account {account_id} does not exist")
        if account.username is None:
            raise Unprocessable(fields={"username": ["this account has no user name"]})
        problems = password_problems(password, username=account.username)
        if problems:
            raise Unprocessable(fields={"password": problems})
        account.password_hash = passwords.hash(password)
        ended = websessions.end_all_sessions(session, account, now=now)
        audit.record(session, actor.audit, "account.password_changed", object_type="account",
                     object_id=account.id, changes={"sessions_ended": ended}, at=now)
    return account


def _throttled_for(session: Session, username: str, address: str, *, throttle: Throttle,
                   now: datetime) -> int | None:
    """Seconds to wait when the name or the address has used up its failures, else None."""
    since = now - throttle.window
    for column, value, limit in ((SignInFailure.username, username, throttle.per_account),
                                 (SignInFailure.address, address, throttle.per_address)):
        count, oldest = session.execute(select(func.count(), func.min(SignInFailure.at))
                                        .where(column == value, SignInFailure.at > since)).one()
        if count >= limit:
            return max(1, math.ceil((oldest + throttle.window - now).total_seconds()))
    return None


def give_sign_in(session: Session, account_id: int, *, username: str, password: str, passwords: Passwords,
                 actor: Actor, now: datetime) -> Account:
    """Let an account sign in as `username` with `password` (the name must be free or already its own);
    its web sessions end. Raises Unprocessable (rules), UsernameTaken, NotFound."""
    problems = password_problems(password, username=username)
    if problems:
        raise Unprocessable(fields={"password": problems})
    password_hash = passwords.hash(password)
    with transaction(session):
        account = session.get(Account, account_id, with_for_update=True)
        if account is None:
            raise NotFound(f"account {account_id} does not exist")
        holder = find_account_by_username(session, username)
        if holder is not None and holder.id != account.id:
            raise UsernameTaken(f"the user name {username} is taken")
        account.username, account.password_hash = username, password_hash
        ended = websessions.end_all_sessions(session, account, now=now)
        audit.record(session, actor.audit, "account.password_changed", object_type="account",
                     object_id=account.id, changes={"username": username, "sessions_ended": ended}, at=now)
    return account

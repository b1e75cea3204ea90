"""Accounts, their API tokens (random, shown once, stored only as a SHA-256 hash) and their sign-in
names; revocable. An account holds a token (devices, the API), a user name and password (people), or both."""
import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, websessions
from core.areas import AreaTree
from core.db import Base, str_enum, transaction
from core.errors import Conflict, NotFound, Unprocessable

TOKEN_PREFIX = "gl_"


class Role(enum.StrEnum):
    ADMIN = "admin"
    REGULATOR = "regulator"
    FIRM = "firm"
    OFFICER = "officer"
    YARD = "yard"
    HEALTH = "health"
    AUDITOR = "auditor"


class FirmRole(enum.StrEnum):
    """What a person may do inside a firm: managers also add and revoke colleagues."""

    MANAGER = "manager"
    CLERK = "clerk"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    username: Mapped[str | None] = mapped_column(String(64), unique=True)  # lower case
    password_hash: Mapped[str | None] = mapped_column(String(256))
    firm_role: Mapped[FirmRole | None] = mapped_column(str_enum(FirmRole))
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # the last TOTP time step used
    sessions_valid_after: Mapped[datetime | None]  # web sessions started before this are over


@dataclass(frozen=True)
class Actor:
    """The authenticated caller as services see it: no Flask, no session."""

    account_id: int | None
    name: str
    role: Role | None
    area_code: str | None = None
    firm_id: int | None = None
    site_id: int | None = None
    firm_role: FirmRole | None = None

    @property
    def audit(self) -> audit.AuditActor:
        return audit.AuditActor(self.account_id, self.name, self.role.value if self.role else "public")

    @classmethod
    def of(cls, account: Account) -> "Actor":
        return cls(account.id, account.name, account.role, account.area_code, account.firm_id,
                   account.site_id, account.firm_role)


PUBLIC = Actor(account_id=None, name="public", role=None)
SYSTEM = Actor(account_id=None, name="system", role=Role.ADMIN)


def hash_token(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast unsalted hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def check_binding(role: Role, *, area_code: str | None, firm_id: int | None, site_id: int | None,
                  areas: AreaTree) -> None:
    """Each role is bound to exactly what it needs: regulators to an area, firms to a firm, officers
    and yard staff to a site. Raises Unprocessable on a missing or unknown binding."""
    errors: dict[str, list[str]] = {}
    if role is Role.REGULATOR and (area_code is None or area_code not in areas):
        errors["area_code"] = ["a regulator needs a known area code"]
    if role is not Role.REGULATOR and area_code is not None:
        errors["area_code"] = ["only regulators are bound to an area"]
    if role is Role.FIRM and firm_id is None:
        errors["firm_id"] = ["a firm account needs a firm"]
    if role is not Role.FIRM and firm_id is not None:
        errors["firm_id"] = ["only firm accounts are bound to a firm"]
    if role in (Role.OFFICER, Role.YARD) and site_id is None:
        errors["site_id"] = ["officer and yard accounts need a site"]
    if role not in (Role.OFFICER, Role.YARD) and site_id is not None:
        errors["site_id"] = ["only officer and yard accounts are bound to a site"]
    if errors:
        raise Unprocessable("invalid account binding", fields=errors)


class UsernameTaken(Conflict):
    code, title = "username_taken", "User name taken"


def add_account(session: Session, *, name: str, role: Role, area_code: str | None = None,
                firm_id: int | None = None, site_id: int | None = None, areas: AreaTree,
                actor: Actor, now: datetime, username: str | None = None, password_hash: str | None = None,
                firm_role: FirmRole | None = None, with_token: bool = True) -> tuple[Account, str | None]:
    """Create an account inside the caller's transaction and return it with its one-time token (None
    when `with_token` is off: a person who only signs in). Raises Unprocessable, UsernameTaken."""
    check_binding(role, area_code=area_code, firm_id=firm_id, site_id=site_id, areas=areas)
    if role is Role.FIRM and firm_role is None:
        firm_role = FirmRole.MANAGER  # a firm's token account manages the firm, as it always has
    check_credentials(role, username=username, password_hash=password_hash, firm_role=firm_role,
                      with_token=with_token)
    if username is not None and find_account_by_username(session, username) is not None:
        raise UsernameTaken(f"the user name {username} is taken")
    token = new_token() if with_token else None
    account = Account(name=name, role=role, area_code=area_code, firm_id=firm_id, site_id=site_id,
                      token_hash=hash_token(token) if token else None, created_at=now, username=username,
                      password_hash=password_hash, firm_role=firm_role)
    session.add(account)
    try:  # a concurrent sign-up may take the name between check and insert: the constraint decides
        session.flush()  # the caller's transaction rolls back as a whole, so no savepoint is needed
    except IntegrityError as e:
        raise UsernameTaken(f"the user name {username} is taken") from e
    audit.record(session, actor.audit, "account.created", object_type="account", object_id=account.id,
                 changes={"name": name, "role": role.value, "area_code": area_code, "firm_id": firm_id,
                          "site_id": site_id, "username": username, "firm_role": firm_role,
                          "password": password_hash is not None, "token": token is not None}, at=now)
    return account, token


def check_credentials(role: Role, *, username: str | None, password_hash: str | None,
                      firm_role: FirmRole | None, with_token: bool) -> None:
    """An account can be used somehow (a token, or a user name with a password); a firm role only for
    firm accounts. Raises Unprocessable."""
    errors: dict[str, list[str]] = {}
    if (username is None) != (password_hash is None):
        errors["password" if username else "username"] = ["a user name and a password go together"]
    if not with_token and username is None:
        errors["username"] = ["an account without a token needs a user name and a password"]
    if firm_role is not None and role is not Role.FIRM:
        errors["firm_role"] = ["only firm accounts have a firm role"]
    if errors:
        raise Unprocessable("invalid account credentials", fields=errors)


def create_account(session: Session, *, name: str, role: Role, area_code: str | None = None,
                   firm_id: int | None = None, site_id: int | None = None, areas: AreaTree,
                   actor: Actor, now: datetime, username: str | None = None, password_hash: str | None = None,
                   firm_role: FirmRole | None = None) -> tuple[Account, str]:
    """Create an account and its token in one transaction. The token is never stored in clear; a user
    name and password hash (core.passwords) are optional. Raises Unprocessable, UsernameTaken."""
    with transaction(session):
        return add_account(session, name=name, role=role, area_code=area_code, firm_id=firm_id,
                           site_id=site_id, areas=areas, actor=actor, now=now, username=username,
                           password_hash=password_hash, firm_role=firm_role)


def rotate_token(session: Session, account_id: int, *, actor: Actor, now: datetime) -> str:
    """Replace an account's token (the old one stops working at once) and return the new one."""
    with transaction(session):
        account = _get(session, account_id)
        token = new_token()
        account.token_hash, account.revoked_at = hash_token(token), None
        audit.record(session, actor.audit, "account.token_rotated", object_type="account",
                     object_id=account.id, at=now)
    return token


def revoke_account(session: Session, account_id: int, *, actor: Actor, now: datetime) -> Account:
    """End an account's token and every web session it has, at once. Revoking twice is harmless and
    audited once."""
    with transaction(session):
        return end_account(session, _get(session, account_id), actor=actor, now=now)


def end_account(session: Session, account: Account, *, actor: Actor, now: datetime) -> Account:
    """Revoke `account` inside the caller's transaction (every revoke path goes through here)."""
    if account.revoked_at is None:
        account.revoked_at = now
        ended = websessions.end_all_sessions(session, account, now=now)
        audit.record(session, actor.audit, "account.revoked", object_type="account",
                     object_id=account.id, changes={"sessions_ended": ended}, at=now)
    return account


def find_account_by_token(session: Session, token: str) -> Account | None:
    """The live account holding this token, or None for unknown or revoked tokens."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    account = session.scalars(select(Account).where(Account.token_hash == hash_token(token))).one_or_none()
    return account if account is not None and account.revoked_at is None else None


def find_account_by_username(session: Session, username: str) -> Account | None:
    """The account with this user name in any letter case (revoked or not), or None."""
    return session.scalars(select(Account).where(Account.username == username.strip().lower())).one_or_none()


def describe_account(session: Session, actor: Actor, *, find_site: Callable[[Session, int], Any]) -> dict:
    """Who the caller is, with the site of an officer or yard account (the scanner page needs its area).
    Sites belong to checkpoints, which core does not import: the factory passes their finder in."""
    site = find_site(session, actor.site_id) if actor.site_id is not None else None
    return {"account_id": actor.account_id, "name": actor.name, "role": actor.role, "area_code": actor.area_code,
            "firm_id": actor.firm_id, "site_id": actor.site_id, "site": site}


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.id)))


def _get(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account

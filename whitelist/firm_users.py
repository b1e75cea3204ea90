"""A firm's colleagues: web users a firm manager (or an admin) adds, lists and revokes for the same firm."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Account, Actor, FirmRole, Role, add_account, end_account
from core.areas import AreaTree
from core.db import transaction
from core.errors import Forbidden, NotFound
from core.passwords import Passwords
from whitelist.errors import FirmNotFound
from whitelist.models import Firm


def require_firm_users_access(session: Session, firm_id: int, *, actor: Actor, manage: bool) -> Firm:
    """Admins and the firm's own accounts see its users; only its managers and admins change them.
    Another firm's id is a 404, as if it did not exist. Raises FirmNotFound, Forbidden."""
    own_firm = actor.role is Role.FIRM and actor.firm_id == firm_id
    if actor.role is not Role.ADMIN and not own_firm:
        raise FirmNotFound(f"firm {firm_id} does not exist")
    firm = session.get(Firm, firm_id)
    if firm is None:
        raise FirmNotFound(f"firm {firm_id} does not exist")
    if manage and own_firm and actor.firm_role is not FirmRole.MANAGER:
        raise Forbidden("only the firm's managers add or revoke its users")
    return firm


def add_firm_user(session: Session, firm_id: int, *, data: dict, passwords: Passwords, actor: Actor,
                  areas: AreaTree, now: datetime) -> Account:
    """Add a colleague who signs in with a user name and password (no API token).
    Raises FirmNotFound, Forbidden, UsernameTaken."""
    require_firm_users_access(session, firm_id, actor=actor, manage=True)
    password_hash = passwords.hash(data["password"])  # before the transaction: Argon2 is slow on purpose
    with transaction(session):
        account, _ = add_account(session, name=data["name"], role=Role.FIRM, firm_id=firm_id, areas=areas,
                                 actor=actor, now=now, username=data["username"], password_hash=password_hash,
                                 firm_role=data["firm_role"], with_token=False)
    return account


def list_firm_users(session: Session, firm_id: int, *, actor: Actor) -> list[Account]:
    """The firm's accounts, revoked ones too, oldest first. Raises FirmNotFound."""
    require_firm_users_access(session, firm_id, actor=actor, manage=False)
    return list(session.scalars(select(Account).where(Account.firm_id == firm_id).order_by(Account.id)))


def revoke_firm_user(session: Session, firm_id: int, account_id: int, *, actor: Actor, now: datetime) -> Account:
    """Revoke one of the firm's accounts: its token and web sessions end at once.
    Raises FirmNotFound, Forbidden, NotFound (not an account of this firm)."""
    require_firm_users_access(session, firm_id, actor=actor, manage=True)
    with transaction(session):
        account = session.get(Account, account_id, with_for_update=True)
        if account is None or account.firm_id != firm_id:
            raise NotFound(f"account {account_id} is not a user of firm {firm_id}")
        return end_account(session, account, actor=actor, now=now)


def describe_firm_user(account: Account) -> dict:
    """What the API shows of a colleague: never a hash or a secret."""
    return {"id": account.id, "name": account.name, "username": account.username, "firm_role": account.firm_role,
            "firm_id": account.firm_id, "has_token": account.token_hash is not None,
            "second_factor": account.totp_secret_enc is not None, "created_at": account.created_at,
            "revoked_at": account.revoked_at}

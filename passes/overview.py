"""A firm's passes at a glance: how many in each status, and which run out soon."""
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.accounts import Actor, Role
from core.errors import Forbidden
from passes.models import PassStatus, VehiclePass


def count_firm_passes(session: Session, *, actor: Actor, now: datetime) -> dict[PassStatus, int]:
    """The caller's firm's passes by the status a reader sees (an active pass past its window is expired).
    Raises Forbidden for anyone but a firm account."""
    firm_id = _own_firm(actor)
    reported = case((((VehiclePass.status == PassStatus.ACTIVE) & (VehiclePass.valid_until <= now)),
                     PassStatus.EXPIRED.value), else_=VehiclePass.status)
    rows = session.execute(select(reported, func.count()).where(VehiclePass.firm_id == firm_id).group_by(reported))
    return {status: 0 for status in PassStatus} | {PassStatus(status): n for status, n in rows}


def list_expiring_passes(session: Session, *, actor: Actor, now: datetime, within: timedelta,
                         limit: int = 50) -> list[VehiclePass]:
    """The caller's firm's active passes whose window ends within `within` from now, soonest first."""
    firm_id = _own_firm(actor)
    return list(session.scalars(select(VehiclePass).where(
        VehiclePass.firm_id == firm_id, VehiclePass.status == PassStatus.ACTIVE, VehiclePass.valid_until > now,
        VehiclePass.valid_until <= now + within).order_by(VehiclePass.valid_until, VehiclePass.id).limit(limit)))


def _own_firm(actor: Actor) -> int:
    if actor.role is not Role.FIRM or actor.firm_id is None:
        raise Forbidden("only a firm account has its own passes")
    return actor.firm_id

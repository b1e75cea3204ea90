"""Alerts as a firm sees them: those raised about its own passes and its own handovers."""
from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from checkpoints.models import Alert
from core.accounts import Actor, Role
from core.errors import Forbidden
from logistics.models import Handover
from passes.models import VehiclePass


def list_firm_alerts(session: Session, *, actor: Actor, open_only: bool = True, limit: int = 20) -> list[Alert]:
    """Newest first: alerts whose subject is one of the caller's firm's passes, or a handover the firm
    carries in or out. Raises Forbidden for anyone but a firm account."""
    if actor.role is not Role.FIRM or actor.firm_id is None:
        raise Forbidden("only a firm account has its own alerts")
    passes = select(VehiclePass.id).where(VehiclePass.firm_id == actor.firm_id)
    handovers = select(cast(Handover.id, String)).where(or_(Handover.inbound_firm_id == actor.firm_id,
                                                            Handover.outbound_firm_id == actor.firm_id))
    query = select(Alert).where(or_((Alert.subject_type == "pass") & Alert.subject_id.in_(passes),
                                    (Alert.subject_type == "handover") & Alert.subject_id.in_(handovers)))
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    return list(session.scalars(query.order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(limit)))

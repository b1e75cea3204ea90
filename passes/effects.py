"""What a decision on a firm does to its passes: one rule, read by the console to show the effect before a
regulator confirms, and applied by the decision itself (on_firm_status_changed)."""
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from passes.models import PassDriver, PassStatus, SuspensionCause, VehiclePass


def firm_action_query(firm_id: int, action: str) -> Select | None:
    """The passes `action` on the firm changes: suspending a firm suspends its active passes (expired ones
    too: they are still in the status list); reinstating it lifts exactly the suspensions its suspension
    caused; revoking it revokes its active and suspended passes (its pending ones can no longer be approved).
    None when the action changes no pass (approve, reject)."""
    if action == "suspend":
        return select(VehiclePass).where(VehiclePass.firm_id == firm_id, VehiclePass.status == PassStatus.ACTIVE)
    if action == "reinstate":
        return select(VehiclePass).where(VehiclePass.firm_id == firm_id, VehiclePass.status == PassStatus.SUSPENDED,
                                         VehiclePass.suspension_cause == SuspensionCause.FIRM_SUSPENDED)
    if action == "revoke":
        return select(VehiclePass).where(VehiclePass.firm_id == firm_id,
                                         VehiclePass.status.in_((PassStatus.ACTIVE, PassStatus.SUSPENDED)))
    return None


def passes_changed_by_firm_action(session: Session, firm_id: int, action: str) -> list[VehiclePass]:
    """The passes `action` on the firm would change, oldest first; writes nothing."""
    query = firm_action_query(firm_id, action)
    if query is None:
        return []
    return list(session.scalars(query.order_by(VehiclePass.created_at, VehiclePass.id)))


def passes_using(session: Session, *, person_id: int | None = None, vehicle_id: int | None = None) -> list[VehiclePass]:
    """The pending, active and suspended passes that name this driver or this vehicle, oldest first: what
    a decision on the person or vehicle concerns (none of them can be approved or reinstated while it is
    suspended)."""
    query = select(VehiclePass).where(VehiclePass.status.in_((PassStatus.PENDING, PassStatus.ACTIVE,
                                                              PassStatus.SUSPENDED)))
    if person_id is not None:
        query = query.where(VehiclePass.id.in_(select(PassDriver.pass_id).where(PassDriver.person_id == person_id)))
    if vehicle_id is not None:
        query = query.where(VehiclePass.vehicle_id == vehicle_id)
    return list(session.scalars(query.order_by(VehiclePass.created_at, VehiclePass.id)))

"""What a decision on a firm, a person or a vehicle does to passes: one rule each, read by the console to show
the effect before a regulator confirms, and applied by the decision itself (on_firm_status_changed,
on_entry_status_changed)."""
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from passes.models import PassDriver, PassStatus, SuspensionCause, VehiclePass
from whitelist.models import EntryStatus, Person, Vehicle


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


def entry_action_query(kind: str, entry_id: int, action: str) -> Select | None:
    """The passes `action` on a person ("person") or vehicle ("vehicle") changes: suspending one suspends the
    active passes naming it; reinstating it lifts the suspensions a suspended driver or vehicle caused on
    those passes, once neither their vehicle nor any other of their drivers is suspended (the entry itself
    is left out of that check, so the console's preview, run while it is still suspended, matches the
    change). None for any other action."""
    named = (VehiclePass.vehicle_id == entry_id if kind == "vehicle" else
             VehiclePass.id.in_(select(PassDriver.pass_id).where(PassDriver.person_id == entry_id)))
    if action == "suspend":
        return select(VehiclePass).where(named, VehiclePass.status == PassStatus.ACTIVE)
    if action == "reinstate":
        still_stopped = or_(
            select(Vehicle.id).where(Vehicle.id == VehiclePass.vehicle_id, Vehicle.status != EntryStatus.ACTIVE,
                                     *([Vehicle.id != entry_id] if kind == "vehicle" else [])).exists(),
            select(PassDriver.person_id).join(Person, Person.id == PassDriver.person_id).where(
                PassDriver.pass_id == VehiclePass.id, Person.status != EntryStatus.ACTIVE,
                *([Person.id != entry_id] if kind == "person" else [])).exists())
        return select(VehiclePass).where(named, VehiclePass.status == PassStatus.SUSPENDED,
                                         VehiclePass.suspension_cause == SuspensionCause.ENTRY_SUSPENDED,
                                         ~still_stopped)
    return None


def passes_changed_by_entry_action(session: Session, kind: str, entry_id: int, action: str) -> list[VehiclePass]:
    """The passes `action` on the person or vehicle would change, oldest first; writes nothing."""
    query = entry_action_query(kind, entry_id, action)
    if query is None:
        return []
    return list(session.scalars(query.order_by(VehiclePass.created_at, VehiclePass.id)))


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

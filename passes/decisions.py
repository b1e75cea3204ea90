"""Bulk decisions on pending passes: a regulator approves (signs) or rejects many at once.

The rules of one-by-one approval and rejection apply to every item; an item that fails them is refused
with its reason. If any item is refused and the caller did not confirm, nothing changes (DecisionsRefused,
409). Otherwise the accepted items go through in batches, one transaction per batch, each item audited on
its own; items are checked again under the batch's row locks, so a pass decided meanwhile is refused, never
decided twice. Reads and writes are set-based (a few statements per batch, not per item)."""
import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from core import audit, counters, keys
from core.accounts import Actor, Role
from core.areas import AreaTree
from core.db import transaction
from core.errors import Conflict, Forbidden, Unprocessable
from passes import rules
from passes.events import ask, drivers_tested_positive
from passes.format import issue_qr_text
from passes.models import PassDriver, PassStatus, VehiclePass
from passes.services import claims_of, clearance_problems, passes_query
from whitelist.models import Firm, FirmStatus, Person, Vehicle

BATCH = 500
MAX_ITEMS = 50_000


class Action(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    REFUSED = "refused"


@dataclass(frozen=True)
class Decision:
    id: str
    outcome: Outcome
    reason: str | None = None  # why it was refused
    serial: int | None = None  # of an approved pass


class DecisionsRefused(Conflict):
    code, title = "decisions_refused", "Some passes cannot be decided"

    def __init__(self, refused: list[Decision], accepted: int):
        super().__init__(f"{len(refused)} pass(es) cannot be decided and confirm is not true: nothing was changed; "
                         "send confirm: true to decide the other ones")
        self.members = {"refused": [{"id": d.id, "reason": d.reason} for d in refused], "accepted": accepted}


def may_decide_in_bulk(actor: Actor) -> bool:
    """Bulk decisions are a regulator's (admins decide one pass at a time; auditors never decide)."""
    return actor.role is Role.REGULATOR


def decide_passes(session: Session, *, ids: list[str] | None, filters: dict | None, action: Action,
                  reason: str | None, confirm: bool, actor: Actor, areas: AreaTree, ring: keys.KeyRing,
                  now: datetime) -> list[Decision]:
    """Approve or reject the pending passes named by `ids` (or matching the list `filters`), as one
    regulator. Returns one Decision per item, in the order given (filters: oldest first).
    Raises Forbidden, Unprocessable (no reason for a rejection, too many items), DecisionsRefused."""
    if not may_decide_in_bulk(actor):
        raise Forbidden("bulk decisions are made by a regulator")
    if action is Action.REJECT and not (reason or "").strip():
        raise Unprocessable(fields={"reason": ["a rejection needs a reason the firm can read"]})
    targets = _targets(session, ids=ids, filters=filters, actor=actor, areas=areas, now=now)
    if not confirm:
        checked = []
        for start in range(0, len(targets), BATCH):
            checked += [d for d in _check(session, targets[start:start + BATCH], action=action, actor=actor,
                                          areas=areas, now=now, lock=False)[0]]
        refused = [d for d in checked if d.outcome is Outcome.REFUSED]
        if refused:
            raise DecisionsRefused(refused, accepted=len(checked) - len(refused))
    decisions: list[Decision] = []
    for start in range(0, len(targets), BATCH):
        decisions += _decide_batch(session, targets[start:start + BATCH], action=action, reason=reason,
                                   actor=actor, areas=areas, ring=ring, now=now)
    session.expire_all()  # the passes were changed with Core statements: ORM copies in this session are stale
    return decisions


def _targets(session: Session, *, ids, filters, actor: Actor, areas: AreaTree, now: datetime) -> list[str]:
    if ids is not None:
        targets = list(dict.fromkeys(ids))
    else:
        query = passes_query(actor=actor, areas=areas, filters=filters or {}, now=now)
        targets = list(session.scalars(query.with_only_columns(VehiclePass.id)
                                       .order_by(VehiclePass.created_at, VehiclePass.id).limit(MAX_ITEMS + 1)))
    if len(targets) > MAX_ITEMS:
        raise Unprocessable(fields={"ids" if ids is not None else "filter": [
            f"at most {MAX_ITEMS} passes per request"]})
    return targets


_COLUMNS = (VehiclePass.id, VehiclePass.serial, VehiclePass.firm_id, VehiclePass.vehicle_id, VehiclePass.plate,
            VehiclePass.hk_plate, VehiclePass.category, VehiclePass.scope, VehiclePass.valid_from,
            VehiclePass.valid_until, VehiclePass.route_crossing_site_id, VehiclePass.route_yard_site_id,
            VehiclePass.status)
# Built once, with the batch's ids as an expanding parameter: a statement holding 500 literal ids is
# expensive to build and to clone.
_PASSES = select(*_COLUMNS).where(VehiclePass.id.in_(bindparam("ids", expanding=True)))
_PASSES_LOCKED = _PASSES.with_for_update()
_DRIVERS = select(PassDriver.pass_id, PassDriver.person_id).where(
    PassDriver.pass_id.in_(bindparam("ids", expanding=True))).order_by(PassDriver.pass_id, PassDriver.person_id)


@dataclass(frozen=True)
class _Pending:
    """What the rules and the signature need of one pass (plain values: no ORM objects for 10,000 rows)."""

    row: Row
    driver_ids: list[int]

    def __getattr__(self, name):
        return getattr(self.row, name)


def _check(session: Session, batch: list[str], *, action: Action, actor: Actor, areas: AreaTree, now: datetime,
           lock: bool) -> tuple[list[Decision], dict[str, _Pending]]:
    """Every rule for every item of a batch, with a handful of statements: (decisions, accepted passes).
    Accepted items come back as Decisions of the action's outcome, without a serial yet."""
    drivers: dict[str, list[int]] = {}
    for pass_id, person_id in session.execute(_DRIVERS, {"ids": batch}):
        drivers.setdefault(pass_id, []).append(person_id)
    passes = {row.id: _Pending(row, drivers.get(row.id, []))
              for row in session.execute(_PASSES_LOCKED if lock else _PASSES, {"ids": batch})}
    firms = {f.id: f for f in session.scalars(select(Firm).where(Firm.id.in_({p.firm_id for p in passes.values()})))}
    vehicles, people, positive = {}, {}, set()
    if action is Action.APPROVE:
        vehicles = {v.id: v for v in session.scalars(select(Vehicle).where(
            Vehicle.id.in_({p.vehicle_id for p in passes.values()})))}
        person_ids = {pid for p in passes.values() for pid in p.driver_ids}
        people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))}
        for firm_id in firms:
            positive |= {pid for pid, _ in ask(drivers_tested_positive, session, person_ids=list(person_ids),
                                               firm_id=firm_id, now=now)}
    decisions, accepted = [], {}
    outcome = Outcome.APPROVED if action is Action.APPROVE else Outcome.REJECTED
    for pass_id in batch:
        vpass = passes.get(pass_id)
        why = _refusal(vpass, action=action, actor=actor, areas=areas, firms=firms, vehicles=vehicles,
                       people=people, positive=positive, now=now)
        decisions.append(Decision(pass_id, Outcome.REFUSED, why) if why else Decision(pass_id, outcome))
        if not why:
            accepted[pass_id] = vpass
    return decisions, accepted


def _refusal(vpass: _Pending | None, *, action: Action, actor: Actor, areas: AreaTree, firms: dict,
             vehicles: dict, people: dict, positive: set, now: datetime) -> str | None:
    """The reason an item cannot be decided (the one-by-one rules), or None."""
    if vpass is None:
        return "not_found"
    if not rules.covers_scope(actor.area_code, vpass.scope, areas):
        return "outside_area"
    if vpass.status is not PassStatus.PENDING:
        return f"not_pending: the pass is {vpass.status.value}"
    if action is Action.REJECT:
        return None
    if vpass.valid_until <= now:
        return "window_over: the firm must apply again"
    firm = firms[vpass.firm_id]
    if firm.status is not FirmStatus.APPROVED:
        return f"not_cleared: the firm is {firm.status.value}"
    driver_ids = vpass.driver_ids
    problems = clearance_problems(firm, vehicles.get(vpass.vehicle_id), driver_ids, people=people,
                                  positive=[pid for pid in driver_ids if pid in positive])
    if problems:
        return "not_cleared: " + "; ".join(f"{field} {message}" for field, messages in problems.items()
                                           for message in messages)
    return None


def _decide_batch(session: Session, batch: list[str], *, action: Action, reason: str | None, actor: Actor,
                  areas: AreaTree, ring: keys.KeyRing, now: datetime) -> list[Decision]:
    with transaction(session):
        decisions, accepted = _check(session, batch, action=action, actor=actor, areas=areas, now=now, lock=True)
        if not accepted:
            return decisions
        table = VehiclePass.__table__
        connection = session.connection()
        if action is Action.APPROVE:
            signer = keys.active_signer(session, ring, actor=actor, now=now)
            # One block of serials for the batch, handed out in order.
            last = counters.next_value(session, counters.PASS_SERIAL, by=len(accepted))
            rows, serials = [], {}
            for serial, vpass in enumerate(accepted.values(), start=last - len(accepted) + 1):
                vpass_claims = claims_of(vpass, serial=serial)
                rows.append({"b_id": vpass.id, "serial": serial, "qr": issue_qr_text(signer, vpass_claims),
                             "kid": signer.kid.hex()})
                serials[vpass.id] = serial
            connection.execute(update(table).where(table.c.id == bindparam("b_id")).values(
                status=PassStatus.ACTIVE.value, suspension_cause=None, serial=bindparam("serial"),
                qr=bindparam("qr"), kid=bindparam("kid"), approved_at=now, updated_at=now), rows)
            counters.next_value(session, counters.STATUS_LIST_VERSION)
            audit.record_many(session, actor.audit, [
                ("pass.approved", "pass", r["b_id"], {"serial": r["serial"], "kid": r["kid"]}) for r in rows], at=now)
            decisions = [Decision(d.id, d.outcome, d.reason, serials.get(d.id)) for d in decisions]
        else:
            connection.execute(update(table).where(table.c.id == bindparam("b_id")).values(
                status=PassStatus.REJECTED.value, suspension_cause=None, reason=reason, updated_at=now),
                [{"b_id": pass_id} for pass_id in accepted])
            audit.record_many(session, actor.audit, [
                ("pass.rejected", "pass", pass_id, {"status": ["pending", "rejected"], "reason": reason})
                for pass_id in accepted], at=now)
        counters.mark_changed(session, counters.PASSES_VERSION)  # Core updates: the ORM does not see them
    return decisions


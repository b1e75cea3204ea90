"""Pass use cases: apply, approve (sign), reject, suspend, reinstate, revoke, and look up."""
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from core import audit, counters, keys
from core.accounts import Actor, Role
from core.areas import AreaTree
from core.db import Page, paged, transaction
from core.errors import AppError, Forbidden, Unprocessable
from core.permissions import READ_ALL_ROLES
from core.signing import b64url
from passes import issuance, rules
from passes.effects import entry_action_query, firm_action_query
from passes.errors import OverlappingPass, PassNotFound
from passes.issuance import clearance_problems
from passes.events import ask, drivers_tested_positive, route_problems
from passes.models import PassArea, PassDriver, PassStatus, SuspensionCause, VehiclePass
from whitelist.models import Firm, FirmStatus, Person, Vehicle

# Statuses that block a second pass for the same vehicle in an overlapping window.
BLOCKING = (PassStatus.PENDING, PassStatus.ACTIVE, PassStatus.SUSPENDED)


def apply_for_pass(session: Session, *, data: dict, actor: Actor, areas: AreaTree, max_days: int,
                   now: datetime) -> VehiclePass:
    """A firm applies for a pass for one of its vehicles and drivers; it starts pending.

    Raises Unprocessable (window, scope), NotWhitelisted, OverlappingPass, Forbidden."""
    if actor.role is not Role.FIRM:
        raise Forbidden("passes are applied for by the firm's own account")
    with transaction(session):
        firm = session.get(Firm, actor.firm_id)
        application = check_application(session, firm=firm, data=data, areas=areas, max_days=max_days, now=now)
        if application.problems:
            raise application.problems[0]
        vpass = add_application(session, application, firm=firm, actor=actor, now=now)
    return reported(vpass, now)


@dataclass
class Application:
    """One application after every rule has run: its normalised values, and what is wrong with it."""

    data: dict
    valid_from: datetime
    valid_until: datetime
    scope: list[str]
    vehicle: Vehicle | None
    problems: list[AppError] = field(default_factory=list)


def check_application(session: Session, *, firm: Firm, data: dict, areas: AreaTree, max_days: int,
                      now: datetime) -> Application:
    """Run every rule of one application (window, scope, firm, vehicle, drivers, health, overlap with the
    passes already in the session, route) and collect what fails, in the order a single application
    reports it. Writes nothing; locks the vehicle row so applications for one vehicle queue up."""
    problems: list[AppError] = []
    # Whole seconds in UTC: exactly what the QR carries.
    valid_from, valid_until = (data[k].astimezone(timezone.utc).replace(microsecond=0)
                               for k in ("valid_from", "valid_until"))
    window_ok = _collect(problems, rules.check_window, valid_from, valid_until, now=now, max_days=max_days)
    try:
        scope = rules.normalise_scope(data["scope"], areas)
    except Unprocessable as e:
        scope = []
        problems.append(e)
    vehicle = session.get(Vehicle, data["vehicle_id"], with_for_update=True)  # serialises applications
    cleared = _collect(problems, _require_cleared, session, firm, vehicle, data["driver_ids"], now=now)
    if window_ok and (cleared or (vehicle is not None and vehicle.firm_id == firm.id)):
        _collect(problems, _require_no_overlap, session, vehicle.id, valid_from, valid_until)
    if data.get("route"):
        _collect(problems, _require_route, session, data["route"])
    return Application(data, valid_from, valid_until, scope, vehicle, problems)


def add_application(session: Session, application: Application, *, firm: Firm, actor: Actor,
                    now: datetime) -> VehiclePass:
    """Add a checked application as a pending pass, audited; never commits."""
    data, vehicle, scope = application.data, application.vehicle, application.scope
    route = data.get("route") or {}
    vpass = VehiclePass(
        id=_unused_pass_id(session), firm_id=firm.id, vehicle_id=vehicle.id, plate=vehicle.plate,
        hk_plate=vehicle.hk_plate, category=data["category"], scope=scope, home_area_code=rules.home_area(scope),
        valid_from=application.valid_from, valid_until=application.valid_until, purpose=data["purpose"].strip(),
        route_crossing_site_id=route.get("crossing_site_id"), route_yard_site_id=route.get("yard_site_id"),
        status=PassStatus.PENDING, created_at=now, updated_at=now,
        drivers=[PassDriver(person_id=pid) for pid in data["driver_ids"]],
        area_rows=[PassArea(area_code=code) for code in scope])
    session.add(vpass)
    session.flush()
    audit.record(session, actor.audit, "pass.applied", object_type="pass", object_id=vpass.id, changes={
        "vehicle_id": vehicle.id, "plate": vehicle.plate, "driver_ids": vpass.driver_ids, "scope": scope,
        "valid_from": application.valid_from, "valid_until": application.valid_until,
        "category": vpass.category.value}, at=now)
    return reported(vpass, now)


def _collect(problems: list[AppError], check, *args, **kwargs) -> bool:
    """Run one rule; keep its error instead of raising it. True when it passed."""
    try:
        check(*args, **kwargs)
    except AppError as e:
        problems.append(e)
        return False
    return True


def approve_pass(session: Session, pass_id: str, *, actor: Actor, areas: AreaTree, ring: keys.KeyRing,
                 now: datetime) -> VehiclePass:
    """Approve and sign a pending pass: serial, QR text, kid. Only a regulator whose area contains
    every scope area may (or an admin). Approving twice (even concurrently) issues exactly one pass.
    Raises PassNotFound, Forbidden, InvalidState, Unprocessable (window over), NotWhitelisted,
    DriverTestedPositive."""
    # The rules and writes of a bulk decision, for a batch of one. The row lock makes concurrent approvals
    # (or an approval racing a rejection) queue up: the second one sees the new state and is refused.
    with transaction(session):
        vpass = session.scalars(_PASS_FOR_CHANGE, {"pass_id": pass_id}).unique().one_or_none()
        facts = issuance.read_facts(session, {pass_id: vpass} if vpass else {}, approving=True, now=now)
        refused = issuance.refusal(pass_id, facts, action="approve", actor=actor, areas=areas, now=now)
        if refused is not None:
            raise refused.error
        issued = issuance.issue(session, [vpass], ring=ring, actor=actor, now=now)[pass_id]
        # Written with Core: the loaded pass takes the new values as stored, with nothing left to flush.
        for name, value in (("status", PassStatus.ACTIVE), ("suspension_cause", None), ("serial", issued.serial),
                            ("qr", issued.qr), ("kid", issued.kid), ("approved_at", now), ("updated_at", now)):
            set_committed_value(vpass, name, value)
    return reported(vpass, now)


# Built once; the drivers come in the same statement, and only the pass row is locked (PostgreSQL refuses
# to lock the nullable side of an outer join).
_PASS_FOR_CHANGE = (select(VehiclePass).where(VehiclePass.id == bindparam("pass_id"))
                    .options(joinedload(VehiclePass.drivers)).with_for_update(of=VehiclePass)
                    .execution_options(populate_existing=True))


def change_pass_status(session: Session, pass_id: str, action: str, *, actor: Actor, areas: AreaTree,
                       reason: str, now: datetime) -> VehiclePass:
    """reject, suspend, reinstate or revoke, with a reason the firm can read, by a regulator whose area
    contains the whole scope (or an admin). Raises InvalidState, Forbidden, PassNotFound."""
    with transaction(session):
        vpass = _get_for_change(session, pass_id, actor=actor, areas=areas)
        if action == "reinstate":
            # A pass comes back only if everything it needs is cleared again (firm, vehicle, drivers).
            _require_cleared(session, session.get(Firm, vpass.firm_id), session.get(Vehicle, vpass.vehicle_id),
                             vpass.driver_ids, now=now)
        previous = vpass.apply(action, at=now)
        vpass.reason = reason
        if action == "suspend":
            vpass.suspension_cause = SuspensionCause.REGULATOR
        if vpass.serial is not None:
            _status_list_changed(session)
        audit.record(session, actor.audit, f"pass.{_PAST[action]}", object_type="pass", object_id=vpass.id,
                     changes={"status": [previous.value, vpass.status.value], "reason": reason}, at=now)
    return reported(vpass, now)


def on_firm_status_changed(session: Session, *, firm: Firm, action: str, actor: Actor, now: datetime) -> None:
    """A suspended firm's active passes are suspended, reinstating the firm lifts exactly those, revoking it
    revokes them all (the rule is passes.effects.firm_action_query, which the console shows first)."""
    query = firm_action_query(firm.id, action)
    if query is None:
        return
    cause = SuspensionCause.FIRM_SUSPENDED if action == "suspend" else None
    changed = []
    for vpass in session.scalars(query.with_for_update()):
        vpass.apply(action, at=now)
        vpass.suspension_cause = cause
        changed.append(vpass.id)
    if changed:
        _status_list_changed(session)
        audit.record(session, actor.audit, f"pass.{_PAST[action]}", object_type="firm", object_id=firm.id,
                     changes={"passes": changed, "cause": f"firm {_PAST[action]}"}, at=now)


def on_entry_status_changed(session: Session, *, kind: str, entry, action: str, actor: Actor, now: datetime) -> None:
    """A suspended driver or vehicle suspends the active passes naming it; reinstating it lifts the suspensions
    such entries caused once no other named entry is suspended (passes.effects.entry_action_query)."""
    query = entry_action_query(kind, entry.id, action)
    if query is None:
        return
    changed = []
    for vpass in session.scalars(query.with_for_update()):
        vpass.apply(action, at=now)
        vpass.suspension_cause = SuspensionCause.ENTRY_SUSPENDED if action == "suspend" else None
        changed.append(vpass.id)
    if changed:
        _status_list_changed(session)
        audit.record(session, actor.audit, f"pass.{_PAST[action]}", object_type=kind, object_id=entry.id,
                     changes={"passes": changed, "cause": f"{kind} {_PAST[action]}"}, at=now)


def get_pass(session: Session, pass_id: str, *, actor: Actor, areas: AreaTree, now: datetime) -> VehiclePass:
    """Raises PassNotFound, or Forbidden when the caller may not see it."""
    vpass = _get(session, pass_id)
    if not _may_read(actor, vpass, areas):
        raise Forbidden("this pass is outside your jurisdiction")
    return reported(vpass, now)


def get_issued_pass(session: Session, pass_id: str, *, now: datetime) -> VehiclePass:
    """An approved pass for printing; the QR is shown on the windscreen anyway, so no token is needed.
    Pending, rejected and revoked passes are not found here."""
    vpass = session.get(VehiclePass, pass_id)
    if vpass is None or vpass.qr is None or vpass.status is PassStatus.REVOKED:
        raise PassNotFound(f"no issued pass {pass_id}")
    return reported(vpass, now)


def list_passes(session: Session, *, actor: Actor, areas: AreaTree, filters: dict, page: Page,
                now: datetime) -> tuple[list[VehiclePass], int]:
    """A firm sees its own passes, a regulator those touching its area, admins and auditors all."""
    query = passes_query(actor=actor, areas=areas, filters=filters, now=now)
    sort = filters.get("sort") or "-created_at"
    column = _SORT_COLUMNS[sort.lstrip("-")]
    items, total = paged(session, query.order_by(column.desc() if sort.startswith("-") else column.asc(),
                                                 VehiclePass.id), page)
    return [reported(p, now) for p in items], total


def passes_query(*, actor: Actor, areas: AreaTree, filters: dict, now: datetime) -> Select:
    """The passes the caller may see that match the list filters (unordered). Raises Forbidden."""
    query = select(VehiclePass)
    if actor.role is Role.FIRM:
        query = query.where(VehiclePass.firm_id == actor.firm_id)
    elif actor.role is Role.REGULATOR:
        if not _wholly_inside(actor.area_code, filters, areas):
            query = query.where(VehiclePass.id.in_(select(PassArea.pass_id).where(
                PassArea.area_code.in_(rules.related_areas(actor.area_code, areas)))))
    elif actor.role not in READ_ALL_ROLES:
        raise Forbidden("your role may not list passes")
    if filters.get("firm"):
        query = query.where(VehiclePass.firm_id == filters["firm"])
    if filters.get("area"):
        query = query.where(*_area_filter(filters["area"], filters.get("area_mode", rules.AreaMode.TOUCHES), areas))
    if filters.get("category") is not None:
        query = query.where(VehiclePass.category == filters["category"])
    if filters.get("plate"):
        query = query.where(or_(VehiclePass.plate == filters["plate"], VehiclePass.hk_plate == filters["plate"]))
    if filters.get("valid_at") is not None:
        instant = filters["valid_at"].astimezone(timezone.utc)
        query = query.where(VehiclePass.valid_from <= instant, VehiclePass.valid_until > instant)
    if filters.get("created_before") is not None:
        query = query.where(VehiclePass.created_at < filters["created_before"].astimezone(timezone.utc))
    status = filters.get("status")
    if status is PassStatus.EXPIRED:
        query = query.where(VehiclePass.status == PassStatus.ACTIVE, VehiclePass.valid_until <= now)
    elif status is PassStatus.ACTIVE:
        query = query.where(VehiclePass.status == PassStatus.ACTIVE, VehiclePass.valid_until > now)
    elif status is not None:
        query = query.where(VehiclePass.status == status)
    return query


def count_passes_by_status(session: Session, *, actor: Actor, now: datetime) -> dict[PassStatus, int]:
    """How many of the caller's firm's passes are in each status as reported at `now` (an active pass past
    its window counts as expired). Every status is present, zero when none. Raises Forbidden for other roles."""
    if actor.role is not Role.FIRM:
        raise Forbidden("only a firm counts its own passes")
    counts = {status: 0 for status in PassStatus}
    counts.update(session.execute(select(VehiclePass.status, func.count()).where(
        VehiclePass.firm_id == actor.firm_id).group_by(VehiclePass.status)).all())
    expired = session.scalar(select(func.count()).where(
        VehiclePass.firm_id == actor.firm_id, VehiclePass.status == PassStatus.ACTIVE,
        VehiclePass.valid_until <= now)) or 0
    counts[PassStatus.ACTIVE] -= expired
    counts[PassStatus.EXPIRED] = expired
    return counts


def drivers_of(session: Session, passes: list[VehiclePass]) -> dict[int, Person]:
    """The white-list records of these passes' drivers, by person id (for lists that show who drives)."""
    person_ids = {pid for vpass in passes for pid in vpass.driver_ids}
    if not person_ids:
        return {}
    return {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))}


def pass_history(session: Session, pass_id: str, *, actor: Actor, areas: AreaTree,
                 now: datetime) -> list[audit.AuditEntry]:
    """What happened to one pass, oldest first, from the audit log (applied, approved, rejected, ...).
    Raises PassNotFound, or Forbidden when the caller may not see the pass."""
    get_pass(session, pass_id, actor=actor, areas=areas, now=now)
    return list(session.scalars(select(audit.AuditEntry).where(
        audit.AuditEntry.object_type == "pass", audit.AuditEntry.object_id == pass_id)
        .order_by(audit.AuditEntry.seq)))


_SORT_COLUMNS = {"created_at": VehiclePass.created_at, "valid_from": VehiclePass.valid_from,
                 "valid_until": VehiclePass.valid_until}


def _wholly_inside(jurisdiction: str, filters: dict, areas: AreaTree) -> bool:
    """Whether the filters keep only passes lying wholly within an area inside `jurisdiction`: those all
    concern the regulator, so its own (costly) area condition would add nothing."""
    return (filters.get("area_mode") is rules.AreaMode.WITHIN and bool(filters.get("area"))
            and areas.contains(jurisdiction, filters["area"]))


def _area_filter(code: str, mode: rules.AreaMode, areas: AreaTree) -> list:
    """Conditions for passes touching `code`, or lying wholly within it (see rules.AreaMode)."""
    if mode is rules.AreaMode.WITHIN:
        # Every scope area lies within `code` exactly when the smallest area holding them all does.
        return [VehiclePass.home_area_code.in_(areas.descendants(code) if code in areas else [])]
    return [VehiclePass.id.in_(select(PassArea.pass_id).where(
        PassArea.area_code.in_(rules.related_areas(code, areas))))]


# ---- helpers (never commit) ------------------------------------------------------------------------

_PAST = {"approve": "approved", "reject": "rejected", "suspend": "suspended", "reinstate": "reinstated",
         "revoke": "revoked"}


def reported(vpass: VehiclePass, now: datetime) -> VehiclePass:
    """The pass with what readers are shown set on it: its status at `now` and its kid in base64url."""
    vpass.reported_status = vpass.status_at(now)
    vpass.kid_b64 = b64url(bytes.fromhex(vpass.kid)) if vpass.kid else None
    return vpass


def _get(session: Session, pass_id: str, *, for_update: bool = False) -> VehiclePass:
    vpass = session.get(VehiclePass, pass_id, with_for_update=for_update)
    if vpass is None:
        raise PassNotFound(f"pass {pass_id} does not exist")
    return vpass


def may_change(actor: Actor, vpass: VehiclePass, areas: AreaTree) -> bool:
    """Whether the caller may approve, reject, suspend, reinstate or revoke this pass: an admin, or a
    regulator whose area contains its whole scope."""
    return issuance.may_change(actor, vpass.scope, areas)


def _get_for_change(session: Session, pass_id: str, *, actor: Actor, areas: AreaTree) -> VehiclePass:
    # The row lock makes concurrent approvals (or an approval racing a rejection) queue up: the second
    # one sees the new state and fails with InvalidState instead of signing twice.
    vpass = _get(session, pass_id, for_update=True)
    if not may_change(actor, vpass, areas):
        raise Forbidden("your area does not contain the whole scope of this pass")
    return vpass


def _may_read(actor: Actor, vpass: VehiclePass, areas: AreaTree) -> bool:
    if actor.role in READ_ALL_ROLES:
        return True
    if actor.role is Role.FIRM:
        return actor.firm_id == vpass.firm_id
    if actor.role is Role.REGULATOR:
        related = set(rules.related_areas(actor.area_code, areas))
        return any(code in related for code in vpass.scope)
    return False


def require_firm_approved(firm: Firm) -> None:
    """Only an approved firm applies for passes. Raises NotWhitelisted."""
    if firm.status is not FirmStatus.APPROVED:
        raise issuance.firm_not_approved(firm)


def _require_cleared(session: Session, firm: Firm, vehicle: Vehicle | None, driver_ids: list[int], *,
                     now: datetime) -> None:
    require_firm_approved(firm)
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(driver_ids)))}
    # Health follows the person, not the record: a driver whose latest result (from any lab, under any
    # firm's record of the same identity number) is positive is refused even if this record is active.
    positive = ask(drivers_tested_positive, session, person_ids=driver_ids, firm_id=firm.id, now=now)
    problems = clearance_problems(firm, vehicle, driver_ids, people=people, positive=[pid for pid, _ in positive])
    if problems:
        raise issuance.clearance_error(problems, positive)


def _require_no_overlap(session: Session, vehicle_id: int, valid_from: datetime, valid_until: datetime) -> None:
    clash = session.scalars(select(VehiclePass.id).where(
        VehiclePass.vehicle_id == vehicle_id, VehiclePass.status.in_(BLOCKING),
        VehiclePass.valid_from < valid_until, VehiclePass.valid_until > valid_from)).first()
    if clash is not None:
        raise OverlappingPass(f"pass {clash} already covers this vehicle in an overlapping window",
                              details={"pass_id": clash})


def _require_route(session: Session, route: dict) -> None:
    problems = ask(route_problems, session, crossing_site_id=route["crossing_site_id"],
                   yard_site_id=route["yard_site_id"])
    if problems:
        raise Unprocessable(fields={"route": problems})


def _unused_pass_id(session: Session) -> str:
    while True:
        candidate = rules.new_pass_id()
        if session.get(VehiclePass, candidate) is None:
            return candidate


def _status_list_changed(session: Session) -> None:
    counters.next_value(session, counters.STATUS_LIST_VERSION)


def firm_of(session: Session, vpass: VehiclePass) -> Firm:
    return session.get(Firm, vpass.firm_id)

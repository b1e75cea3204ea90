"""Approving (signing) pending passes: the reads, the rules and the writes that one-by-one approval
(services.approve_pass) and bulk decisions (decisions.decide_passes) share, so both refuse and issue
exactly alike. Plain rows and prebuilt Core statements: a fixed number of statements per batch, whether
it holds one pass or 500."""
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, NamedTuple

from sqlalchemy import String, bindparam, literal, select, type_coerce, union_all, update
from sqlalchemy.orm import Session

from core import audit, counters, keys
from core.accounts import Actor, Role
from core.areas import AreaTree
from core.errors import AppError, Forbidden, Unprocessable
from passes import rules
from passes.errors import DriverTestedPositive, NotWhitelisted, PassNotFound
from passes.events import ask, drivers_tested_positive
from passes.format import PassClaims, issue_qr_text
from passes.models import PassDriver, PassStatus, VehiclePass, transition_error
from whitelist.models import Category, EntryStatus, Firm, FirmStatus, Person, Vehicle


class Pending(NamedTuple):
    """What the rules and the signature need of one pass (plain values: no ORM objects for 10,000 rows)."""

    id: str
    serial: int | None
    firm_id: int
    vehicle_id: int
    plate: str
    hk_plate: str | None
    category: Category
    scope: list[str]
    valid_from: datetime
    valid_until: datetime
    route_crossing_site_id: int | None
    route_yard_site_id: int | None
    status: PassStatus
    driver_ids: list[int]


# Built once from the tables' columns and run on the connection: building a statement, even a small one,
# costs more than running it, and the ORM layer adds nothing to plain rows but time. The ids are an
# expanding parameter.
_TABLE, _DRIVER_TABLE = VehiclePass.__table__, PassDriver.__table__
_FIRM_TABLE, _VEHICLE_TABLE, _PERSON_TABLE = Firm.__table__, Vehicle.__table__, Person.__table__
_PASSES = (select(*(_TABLE.c[name] for name in Pending._fields[:-1]))  # a Pending's fields but its drivers
           .where(_TABLE.c.id.in_(bindparam("ids", expanding=True))))
_PASSES_LOCKED = _PASSES.with_for_update()
_LOCK = select(_TABLE.c.id).where(_TABLE.c.id.in_(bindparam("ids", expanding=True))).with_for_update()
_DRIVERS = (select(_DRIVER_TABLE.c.pass_id, _DRIVER_TABLE.c.person_id)
            .where(_DRIVER_TABLE.c.pass_id.in_(bindparam("ids", expanding=True)))
            .order_by(_DRIVER_TABLE.c.pass_id, _DRIVER_TABLE.c.person_id))


def _entries(kind: str, table, firm_id, ids: str):
    # The status as stored (text): one column of a union holds the firm's and the entries' statuses.
    return select(literal(kind), table.c.id, firm_id, type_coerce(table.c.status, String)).where(
        table.c.id.in_(bindparam(ids, expanding=True)))


# Only what the rules read of the firms, vehicles and people (clearance_problems), in one statement.
_CLEARANCE = union_all(_entries("firm", _FIRM_TABLE, _FIRM_TABLE.c.id, "firm_ids"),
                       _entries("vehicle", _VEHICLE_TABLE, _VEHICLE_TABLE.c.firm_id, "vehicle_ids"),
                       _entries("person", _PERSON_TABLE, _PERSON_TABLE.c.firm_id, "person_ids"))
_STATUSES = {"firm": FirmStatus, "vehicle": EntryStatus, "person": EntryStatus}


class Entry(NamedTuple):
    """A firm, a vehicle or a person, as the rules read it."""

    id: int
    firm_id: int
    status: FirmStatus | EntryStatus


_APPROVE = update(_TABLE).where(_TABLE.c.id == bindparam("b_id")).values(
    status=PassStatus.ACTIVE.value, suspension_cause=None, serial=bindparam("serial"), qr=bindparam("qr"),
    kid=bindparam("kid"), approved_at=bindparam("at"), updated_at=bindparam("at"))


@dataclass(frozen=True)
class Facts:
    """Everything the rules read about a batch of passes, by id."""

    passes: Mapping[str, Pending | VehiclePass]
    firms: dict[int, Entry]
    vehicles: dict[int, Entry]
    people: dict[int, Entry]
    positive: dict[tuple[int, int], str]  # (firm id, person id) -> name, of drivers whose latest test is positive


@dataclass(frozen=True)
class Refusal:
    """Why a pass cannot be decided: the error one-by-one raises, and the reason a bulk decision lists."""

    error: AppError
    reason: str


def read_pending(session: Session, ids: list[str], *, lock: bool) -> dict[str, Pending]:
    """The passes named by `ids` that exist, by id, locked for update when `lock`: two statements."""
    connection = session.connection()
    drivers: dict[str, list[int]] = {}
    for pass_id, person_id in connection.execute(_DRIVERS, {"ids": ids}):
        drivers.setdefault(pass_id, []).append(person_id)
    return {row.id: Pending(*row, drivers.get(row.id, []))
            for row in connection.execute(_PASSES_LOCKED if lock else _PASSES, {"ids": ids})}


def lock_passes(session: Session, ids: list[str]) -> None:
    """Lock the rows of these passes until the caller's transaction ends, as read_pending(lock=True) does,
    reading nothing else: one statement on PostgreSQL, none on SQLite, where the transaction already holds
    the write lock (BEGIN IMMEDIATE), so nobody can change a pass until it ends."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        connection.execute(_LOCK, {"ids": ids}).all()


def read_facts(session: Session, passes: Mapping[str, Pending | VehiclePass], *, approving: bool,
               now: datetime) -> Facts:
    """What the approval rules read about these passes (Pending rows or VehiclePass objects, by id): their
    firms, vehicles, drivers and positive drivers (nothing when not `approving`: a rejection needs none).
    Two statements whatever their number (one more per extra firm)."""
    found: dict[str, dict[int, Entry]] = {"firm": {}, "vehicle": {}, "person": {}}
    positive = {}
    if approving and passes:
        firm_ids = list({p.firm_id for p in passes.values()})
        person_ids = list({pid for p in passes.values() for pid in p.driver_ids})
        for kind, entry_id, firm_id, status in session.connection().execute(_CLEARANCE, {
                "firm_ids": firm_ids, "vehicle_ids": list({p.vehicle_id for p in passes.values()}),
                "person_ids": person_ids}):
            found[kind][entry_id] = Entry(entry_id, firm_id, _STATUSES[kind](status))
        for firm_id in firm_ids:
            for pid, name in ask(drivers_tested_positive, session, person_ids=person_ids, firm_id=firm_id, now=now):
                positive[firm_id, pid] = name
    firms, vehicles, people = found["firm"], found["vehicle"], found["person"]
    return Facts(passes, firms, vehicles, people, positive)


def may_change(actor: Actor, scope: list[str], areas: AreaTree) -> bool:
    """Whether the caller may approve, reject, suspend, reinstate or revoke a pass of this scope: an admin,
    or a regulator whose area contains the whole scope."""
    return actor.role is Role.ADMIN or (actor.role is Role.REGULATOR and rules.covers_scope(actor.area_code, scope, areas))


def refusal(pass_id: str, facts: Facts, *, action: str, actor: Actor, areas: AreaTree,
            now: datetime) -> Refusal | None:
    """Why `action` ("approve" or "reject") cannot be taken on this pass, in the order the checks run, or
    None. The rules of one-by-one approval and rejection, for both paths."""
    vpass = facts.passes.get(pass_id)
    if vpass is None:
        return Refusal(PassNotFound(f"pass {pass_id} does not exist"), "not_found")
    if not may_change(actor, vpass.scope, areas):
        return Refusal(Forbidden("your area does not contain the whole scope of this pass"), "outside_area")
    if vpass.status is not PassStatus.PENDING:
        return Refusal(transition_error(action, vpass.status), f"not_pending: the pass is {vpass.status.value}")
    if action != "approve":
        return None
    if vpass.valid_until <= now:
        return Refusal(Unprocessable("the pass window is already over; the firm must apply again"),
                       "window_over: the firm must apply again")
    firm = facts.firms[vpass.firm_id]
    if firm.status is not FirmStatus.APPROVED:
        return Refusal(firm_not_approved(firm), f"not_cleared: the firm is {firm.status.value}")
    positive = [(pid, facts.positive[firm.id, pid]) for pid in vpass.driver_ids if (firm.id, pid) in facts.positive]
    problems = clearance_problems(firm, facts.vehicles.get(vpass.vehicle_id), vpass.driver_ids, people=facts.people,
                                  positive=[pid for pid, _ in positive])
    if not problems:
        return None
    reason = "not_cleared: " + "; ".join(f"{field} {message}" for field, messages in problems.items()
                                         for message in messages)
    return Refusal(clearance_error(problems, positive), reason)


def firm_not_approved(firm) -> NotWhitelisted:
    return NotWhitelisted(f"the firm is {firm.status.value}", fields={"firm": [f"firm is {firm.status.value}"]})


def clearance_error(problems: dict[str, list[str]], positive: list[tuple[int, str]]) -> NotWhitelisted:
    """The error for an approved firm's pass that is not cleared (clearance_problems not empty); a positive
    driver (person id, name) makes it DriverTestedPositive."""
    if positive:
        names = ", ".join(f"{name} (person {pid})" for pid, name in positive)
        return DriverTestedPositive(f"the latest health test result of driver {names} is positive",
                                    fields=problems, details={"driver_ids": [pid for pid, _ in positive]})
    return NotWhitelisted("the vehicle or a driver is not cleared", fields=problems)


def clearance_problems(firm, vehicle, driver_ids: list[int], *, people: dict, positive: list[int]) -> dict[str, list[str]]:
    """What keeps a pass of an approved firm from being issued: its vehicle or a driver not (or no longer)
    on the firm's active list, or a driver whose latest test is positive. Empty when cleared. Reads `id`,
    `firm_id` and `status` of the firm, vehicle and people (ORM objects or rows)."""
    problems: dict[str, list[str]] = {}
    if vehicle is None or vehicle.firm_id != firm.id:
        problems["vehicle_id"] = ["not a vehicle of this firm"]
    elif vehicle.status is not EntryStatus.ACTIVE:
        problems["vehicle_id"] = [f"the vehicle is {vehicle.status.value}"]
    for pid in driver_ids:
        person = people.get(pid)
        if person is None or person.firm_id != firm.id:
            problems.setdefault("driver_ids", []).append(f"{pid}: not a person of this firm")
        elif person.status is not EntryStatus.ACTIVE:
            problems.setdefault("driver_ids", []).append(f"{pid}: {person.status.value}")
    for pid in positive:
        problems.setdefault("driver_ids", []).append(f"{pid}: the latest health test result is positive")
    return problems


@dataclass(frozen=True)
class Issued:
    """What approving a pass wrote besides its status (active), approved_at and updated_at (now)."""

    serial: int
    qr: str
    kid: str


def issue(session: Session, accepted: list[Pending | VehiclePass], *, ring: keys.KeyRing, actor: Actor,
          now: datetime) -> dict[str, Issued]:
    """Sign and store the accepted passes, in order, inside the caller's transaction (which holds their
    row locks): one block of serials, one update, the status-list version, one audit entry per pass, and
    the passes cache version at commit. Returns what was written for each pass, by id."""
    signer = keys.active_signer(session, ring, actor=actor, now=now)
    kid = signer.kid.hex()
    # One block of serials, handed out in order, and the status-list version, in one statement; the counter
    # rows stay locked until commit.
    last = counters.next_value(session, counters.PASS_SERIAL, by=len(accepted), also=(counters.STATUS_LIST_VERSION,))
    rows = [{"b_id": vpass.id, "serial": serial, "qr": issue_qr_text(signer, claims_of(vpass, serial=serial)),
             "kid": kid, "at": now}
            for serial, vpass in enumerate(accepted, start=last - len(accepted) + 1)]
    session.connection().execute(_APPROVE, rows)
    audit.record_many(session, actor.audit, [
        ("pass.approved", "pass", r["b_id"], {"serial": r["serial"], "kid": kid}) for r in rows], at=now)
    counters.mark_changed(session, counters.PASSES_VERSION)  # Core updates: the ORM does not see them
    return {r["b_id"]: Issued(r["serial"], r["qr"], kid) for r in rows}


def claims_of(vpass, *, serial: int | None = None) -> PassClaims:
    """What the QR asserts: no names, identity numbers or phones. `serial`: the one being assigned.
    `vpass`: a VehiclePass or a Pending row."""
    return PassClaims(pass_id=vpass.id, serial=vpass.serial if serial is None else serial, plate=vpass.plate,
                      scope=tuple(int(c) for c in vpass.scope), category=vpass.category.value,
                      valid_from=int(vpass.valid_from.timestamp()), valid_until=int(vpass.valid_until.timestamp()),
                      route=(vpass.route_crossing_site_id, vpass.route_yard_site_id)
                      if vpass.route_crossing_site_id is not None else None, hk_plate=vpass.hk_plate)

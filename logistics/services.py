"""Relay-yard use cases: book a handover, name the outbound leg, record events, detect overdue returns,
and show the chain of custody and the yard board."""
import statistics
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import Connection, bindparam, exists, func, insert, select, update
from sqlalchemy.orm import Session, lazyload, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core import audit
from core.accounts import SYSTEM, Actor, Role
from checkpoints.alerts import raise_alert
from checkpoints.models import AlertKind
from core.areas import AreaTree
from core.db import DriverStatement, Page, paged, transaction
from core.errors import Forbidden, Unprocessable
from core.permissions import READ_ALL_ROLES, regulates
from checkpoints.models import Site, SiteKind
from checkpoints.lookups import find_site_view
from checkpoints.sites import get_site
from logistics.errors import DriverNotCleared, EventNotAllowed, FirmNotApproved, HandoverNotFound, YardNotFound
from logistics.handovers import (IN_YARD, EventType, HandoverState, TransitionRefused, allowed_events, next_state,
                                 seal_differences, seals_match)
from logistics.models import Handover, HandoverEvent
from checkpoints.services import verify_at_site
from passes.models import VehiclePass
from whitelist.models import EntryStatus, Firm, FirmStatus, Person, PersonKind, Vehicle

E = EventType


def book_handover(session: Session, *, data: dict, actor: Actor, now: datetime) -> Handover:
    """An approved firm books a load: yard, crossing, the approved firm that collects it, inbound leg, seals
    and cargo. An outbound leg named now is a driver and vehicle of the booking or the collecting firm; the
    collecting firm may name or change it later. Raises Forbidden, FirmNotApproved, Unprocessable."""
    if actor.role is not Role.FIRM:
        raise Forbidden("handovers are booked by a firm account")
    with transaction(session):
        # The checks read only the columns they need, both firms, both sites, the drivers and the vehicles in
        # one statement each, and the load is written with Core (one of the nine events of a journey; the
        # ORM's gets and flush were most of its time).
        connection = session.connection()
        collector_id, inbound, cargo, outbound = (data["collecting_firm_id"], data["inbound"], data["cargo"],
                                                  data.get("outbound"))
        firms = _rows_by_id(connection, _FIRMS_OF_TWO, actor.firm_id, collector_id)
        _require_firm_approved(firms, actor.firm_id, field="firm")
        _require_firm_approved(firms, collector_id, field="collecting_firm_id")
        sites = _rows_by_id(connection, _SITES_OF_TWO, data["yard_site_id"], data["crossing_site_id"])
        _require_site(sites, data["yard_site_id"], SiteKind.RELAY_YARD, "yard_site_id")
        _require_site(sites, data["crossing_site_id"], SiteKind.CROSSING, "crossing_site_id")
        legs = _legs(connection, inbound, outbound)
        _require_leg(legs, inbound["driver_id"], inbound["vehicle_id"], firm_ids={actor.firm_id}, field="inbound",
                     cross_border=True)
        values = dict(
            yard_site_id=data["yard_site_id"], crossing_site_id=data["crossing_site_id"],
            inbound_firm_id=actor.firm_id, outbound_firm_id=collector_id, inbound_driver_id=inbound["driver_id"],
            inbound_vehicle_id=inbound["vehicle_id"], container_no=inbound["container_no"], seals=inbound["seals"],
            sealed_by=inbound["sealed_by"], cargo_category=cargo["category"], cargo_description=cargo["description"],
            packages=cargo["packages"], gross_kg=cargo["gross_kg"], outbound_driver_id=None,
            outbound_vehicle_id=None, state=HandoverState.BOOKED, booked_at=now, arrived_at=None, dropped_at=None,
            inbound_departed_at=None, collected_at=None, return_due_at=None, returned_at=None,
            return_alerted_at=None, updated_at=now)
        if outbound:
            values.update(_outbound_leg(legs, outbound, inbound_driver_id=inbound["driver_id"],
                                        firm_ids={actor.firm_id, collector_id}))
        handover_id = _INSERT_HANDOVER.inserted_id(connection, values)
        handover = _as_read(session, {**values, "id": handover_id})
        _insert_event(connection, handover_id, 1, E.BOOKED, at=now, site_id=None, actor=actor,
                      state_after=HandoverState.BOOKED,
                      data={"container_no": handover.container_no, "seals": handover.seals,
                            "sealed_by": handover.sealed_by, "cargo": handover.cargo,
                            "collecting_firm_id": collector_id}, now=now)
    return handover


def name_outbound(session: Session, handover_id: int, *, data: dict, actor: Actor, now: datetime) -> Handover:
    """The collecting firm named at booking names (or changes) its own driver and vehicle, any time before
    collection. Another firm is told the load does not exist; the booking firm, when it does not collect
    itself, may name the leg only at booking. Raises HandoverNotFound, Forbidden, FirmNotApproved,
    EventNotAllowed, Unprocessable."""
    if actor.role is not Role.FIRM:
        raise Forbidden("the outbound leg is named by the collecting firm's account")
    with transaction(session):
        handover = _get_for_update(session, handover_id)
        if actor.firm_id not in (handover.inbound_firm_id, handover.outbound_firm_id):
            raise HandoverNotFound(f"handover {handover_id} does not exist")
        if actor.firm_id != handover.outbound_firm_id:
            raise Forbidden("only the collecting firm names or changes the outbound leg after booking")
        connection = session.connection()
        _require_firm_approved(_rows_by_id(connection, _FIRMS_OF_TWO, actor.firm_id), actor.firm_id, field="firm")
        if handover.state not in (HandoverState.BOOKED, HandoverState.ARRIVED, HandoverState.SEALS_OK,
                                  HandoverState.HELD, HandoverState.DISINFECTED, HandoverState.DROPPED,
                                  HandoverState.INBOUND_DEPARTED):
            raise EventNotAllowed(f"the load is already {handover.state.value}",
                                  details={"state": handover.state.value, "allowed": allowed_events(handover.state)})
        for key, value in _outbound_leg(_legs(connection, data), data, inbound_driver_id=handover.inbound_driver_id,
                                        firm_ids={actor.firm_id}).items():
            setattr(handover, key, value)
        handover.updated_at = now
        audit.record(session, actor.audit, "handover.outbound_named", object_type="handover", object_id=handover.id,
                     changes=data, at=now)
    return handover


def record_event(session: Session, handover_id: int, *, data: dict, actor: Actor, areas: AreaTree, cache: dict,
                 max_return: timedelta, now: datetime) -> Handover:
    """Record one step at the yard (yard account of that yard; a regulator may record an exception).

    arrived and collected need the driver's pass QR, checked with the checkpoint rules at the yard.
    A step sent again with the same client_event_id (queued offline, uploaded twice) is recorded once.
    Raises EventNotAllowed (409, naming the state and allowed events), DriverNotCleared, Unprocessable."""
    event = data["type"]
    at = data.get("at") or now
    client_event_id = data.get("client_event_id")
    # The hot path of the yard: the handover is read and written as one plain row with prebuilt Core
    # statements; the ORM's get, event list and unit of work were most of the time of an event.
    with transaction(session):
        connection = session.connection()  # fetched once: each session.connection() costs a Core statement
        handover, (last_seq, last_at, seen) = _lock(connection, handover_id, client_event_id)
        _require_recorder(actor, handover, event, areas, session)
        if seen:
            return _as_read(session, handover._asdict())  # the same step uploaded again: recorded once
        if at > now + timedelta(minutes=5):
            raise Unprocessable(fields={"at": ["is in the future"]})
        last = last_at if last_seq is not None else handover.booked_at
        if at < last:
            raise Unprocessable(fields={"at": [f"is before the previous event ({last.isoformat()})"]})
        intact = True
        if event is E.SEALS_CHECKED:
            if not data.get("seals_seen"):
                raise Unprocessable(fields={"seals_seen": ["list the seal numbers seen"]})
            intact = seals_match(handover.seals, data["seals_seen"])
        if event is E.EXCEPTION and not data.get("reason"):
            raise Unprocessable(fields={"reason": ["an exception needs a reason"]})
        try:
            target = next_state(handover.state, event, seals_intact=intact)
        except TransitionRefused as e:
            raise EventNotAllowed(str(e), details={"state": handover.state.value,
                                                   "allowed": allowed_events(handover.state)}) from e
        details = {k: v for k, v in data.items() if k in ("seals_seen", "reason") and v}
        if event is E.COLLECTED and handover.outbound_firm_id is not None:
            _require_firm_approved(_rows_by_id(connection, _FIRMS_OF_TWO, handover.outbound_firm_id),
                                   handover.outbound_firm_id, field="collecting_firm_id")
        if event in (E.ARRIVED, E.COLLECTED):
            details["pass_id"] = _clear_driver(session, handover, event, data, at=at, areas=areas, cache=cache, now=now)
        if event is E.COLLECTED and handover.inbound_departed_at is not None and at <= handover.inbound_departed_at:
            raise Unprocessable(fields={"at": ["collection must come after the inbound driver left (no contact)"]})
        changes = {**_times(event, at=at, max_return=max_return), "state": target, "updated_at": now}
        _UPDATE_HANDOVER.execute(connection, {**changes, "handover_id": handover_id})
        _insert_event(connection, handover_id, (last_seq or 0) + 1, event, at=at, site_id=handover.yard_site_id,
                      actor=actor, state_after=target, data=details, now=now, client_event_id=client_event_id)
        if target is HandoverState.HELD:
            yard = find_site_view(session, handover.yard_site_id, cache=cache)
            raise_alert(session, AlertKind.SEAL_MISMATCH, area_code=yard.area_code, subject_type="handover",
                        subject_id=handover_id, details={"expected": handover.seals, "seen": data["seals_seen"]},
                        actor=actor, now=now)
    return _as_read(session, {**handover._asdict(), **changes})


def on_pass_accepted(session: Session, *, vpass: VehiclePass, site: Site, at: datetime, actor: Actor,
                     now: datetime) -> None:
    """An inbound vehicle scanned out at its crossing after dropping its load: the closed loop is done.

    `at` is the device's scan time. A scan that reaches the server after the return was due counts from its
    receipt (`now`): a device's clock cannot make a late return look on time (the claimed time is audited)."""
    if site.kind is not SiteKind.CROSSING:
        return
    for handover in session.scalars(select(Handover).where(
            Handover.inbound_vehicle_id == vpass.vehicle_id, Handover.crossing_site_id == site.id,
            Handover.dropped_at.is_not(None), Handover.dropped_at <= at, Handover.returned_at.is_(None))):
        credited = now if handover.return_due_at is not None and now > handover.return_due_at else at
        handover.returned_at, handover.updated_at = credited, now
        audit.record(session, actor.audit, "handover.returned", object_type="handover", object_id=handover.id,
                     changes={"at": credited, "scanned_at": at, "site_id": site.id, "pass_id": vpass.id}, at=now)


def raise_overdue_returns(session: Session, *, now: datetime, actor: Actor = SYSTEM) -> list[int]:
    """Alert once for every inbound driver who has not scanned out at the crossing in time."""
    with transaction(session):
        overdue = list(session.scalars(select(Handover).where(
            Handover.return_due_at < now, Handover.returned_at.is_(None),
            Handover.return_alerted_at.is_(None)).with_for_update()))
        for handover in overdue:
            handover.return_alerted_at = now
            yard = session.get(Site, handover.yard_site_id)
            raise_alert(session, AlertKind.RETURN_OVERDUE, area_code=yard.area_code, subject_type="handover",
                        subject_id=handover.id, details={"driver_id": handover.inbound_driver_id,
                                                         "due": handover.return_due_at.isoformat()},
                        actor=actor, now=now)
    return [h.id for h in overdue]


def get_handover(session: Session, handover_id: int, *, actor: Actor, areas: AreaTree) -> Handover:
    """A firm that is not party to the load is told it does not exist. Raises HandoverNotFound, Forbidden."""
    handover = session.get(Handover, handover_id)
    if handover is None or (actor.role is Role.FIRM
                            and actor.firm_id not in (handover.inbound_firm_id, handover.outbound_firm_id)):
        raise HandoverNotFound(f"handover {handover_id} does not exist")
    if not _may_read(session, actor, handover, areas):
        raise Forbidden("you may not see this handover")
    return handover


def list_handovers(session: Session, *, actor: Actor, areas: AreaTree, filters: dict,
                   page: Page) -> tuple[list[Handover], int]:
    query = select(Handover).order_by(Handover.booked_at.desc(), Handover.id.desc())
    if actor.role is Role.FIRM:
        query = query.where((Handover.inbound_firm_id == actor.firm_id) | (Handover.outbound_firm_id == actor.firm_id))
    elif actor.role is Role.YARD:
        query = query.where(Handover.yard_site_id == actor.site_id)
    elif actor.role is Role.REGULATOR:
        query = query.where(Handover.yard_site_id.in_(select(Site.id).where(
            Site.area_code.in_(areas.descendants(actor.area_code)))))
    elif actor.role not in READ_ALL_ROLES:
        raise Forbidden("your role may not list handovers")
    if filters.get("yard"):
        query = query.where(Handover.yard_site_id == filters["yard"])
    if filters.get("state"):
        query = query.where(Handover.state == filters["state"])
    if filters.get("day"):
        start = datetime.combine(filters["day"], time(), tzinfo=CHINA_TIME)
        query = query.where(Handover.booked_at >= start, Handover.booked_at < start + timedelta(days=1))
    return paged(session, query, page)


def get_yard(session: Session, yard_id: int) -> Site:
    """Raises YardNotFound when the site does not exist or is not a relay yard."""
    yard = session.get(Site, yard_id)
    if yard is None or yard.kind is not SiteKind.RELAY_YARD:
        raise YardNotFound(f"site {yard_id} is not a relay yard")
    return yard


def yard_board(session: Session, yard_id: int, *, actor: Actor, areas: AreaTree, now: datetime) -> dict:
    """Loads waiting, held and in progress; occupancy against capacity; dwell times (arrival to
    collection) over the last 24 hours with median and 90th percentile; overdue returns. Read by the yard's
    own staff and officers posted there, regulators of its area, auditors and admins."""
    yard = get_site(session, yard_id)
    if yard.kind is not SiteKind.RELAY_YARD:
        raise Unprocessable(fields={"yard": [f"site {yard_id} is not a relay yard"]})
    if not (actor.role in READ_ALL_ROLES or regulates(actor, yard.area_code, areas)
            or (actor.role in (Role.YARD, Role.OFFICER) and actor.site_id == yard.id)):
        raise Forbidden("you may not see this yard")
    raise_overdue_returns(session, now=now)
    open_query = select(Handover.id).where(
        Handover.yard_site_id == yard.id, Handover.state.not_in((HandoverState.COMPLETED, HandoverState.EXCEPTION,
                                                                 HandoverState.OUTBOUND_DEPARTED)))
    open_loads = list(session.scalars(select(Handover).options(*_CARD_LOADS).where(
        Handover.id.in_(open_query)).order_by(Handover.booked_at, Handover.id)))
    overdue = list(session.scalars(select(Handover).options(*_CARD_LOADS).where(
        Handover.yard_site_id == yard.id, Handover.state != HandoverState.EXCEPTION,
        Handover.return_alerted_at.is_not(None), Handover.returned_at.is_(None)).order_by(Handover.id)))
    facts = _card_facts(session, open_query, also=[h.id for h in overdue],
                        held=[h for h in open_loads if h.state is HandoverState.HELD])
    collected = session.execute(select(Handover.arrived_at, Handover.collected_at).where(
        Handover.yard_site_id == yard.id, Handover.collected_at >= now - timedelta(hours=24),
        Handover.arrived_at.is_not(None)))
    dwell = sorted((collected_at - arrived_at).total_seconds() / 60 for arrived_at, collected_at in collected)
    occupancy = sum(h.state in IN_YARD for h in open_loads)
    return {
        "yard": {"id": yard.id, "name": yard.name, "capacity": yard.capacity, "area_code": yard.area_code},
        "waiting": [_card(h, now, facts) for h in open_loads if h.state is HandoverState.BOOKED],
        "held": [_card(h, now, facts) for h in open_loads if h.state is HandoverState.HELD],
        "in_progress": [_card(h, now, facts) for h in open_loads
                        if h.state not in (HandoverState.BOOKED, HandoverState.HELD)],
        "occupancy": occupancy, "capacity": yard.capacity,
        "occupancy_ratio": round(occupancy / yard.capacity, 3) if yard.capacity else None,
        "dwell_minutes": {"count": len(dwell), "median": round(statistics.median(dwell), 1) if dwell else None,
                          "p90": round(_percentile(dwell, 0.9), 1) if dwell else None},
        "overdue_returns": [_card(h, now, facts) for h in overdue],
        "generated_at": now}


def custody_chain(session: Session, handover_id: int, *, actor: Actor, areas: AreaTree) -> dict:
    """The ordered events with the hashes of their audit entries, so anyone can check the chain."""
    handover = get_handover(session, handover_id, actor=actor, areas=areas)
    site_ids = {e.site_id for e in handover.events if e.site_id is not None}
    sites = {s.id: s.name for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))} if site_ids else {}
    return {"handover_id": handover.id, "container_no": handover.container_no, "seals": handover.seals,
            "state": handover.state.value,
            "events": [{"seq": e.seq, "type": e.type.value, "at": e.at.isoformat(), "site_id": e.site_id,
                        "site": sites.get(e.site_id), "actor": e.actor_name, "state_after": e.state_after.value, "data": e.data,
                        "audit_seq": e.audit_seq, "audit_hash": e.audit_hash} for e in handover.events]}


# ---- helpers (never commit) ------------------------------------------------------------------------

CHINA_TIME = timezone(timedelta(hours=8))


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, -(-int(q * 1000) * len(sorted_values) // 1000))
    return sorted_values[min(rank, len(sorted_values)) - 1]


# What a board card reads besides the load itself, loaded for all cards at once (not one query per card).
# A card needs only its last event's time and a held load's last seal check, not every event: the events
# are read by _card_facts in two small queries instead of as objects (and never loaded for the board).
_CARD_LOADS = (selectinload(Handover.inbound_vehicle), selectinload(Handover.outbound_vehicle),
               selectinload(Handover.inbound_firm), selectinload(Handover.outbound_firm), lazyload(Handover.events))


def _card_facts(session: Session, ids, *, also: list[int], held: list[Handover]) -> dict:
    """For the loads whose ids `ids` selects and those in `also`: since when each is in its state; for the
    held ones, the seals seen at their last seal check and which differ from the booking."""
    since = dict(session.execute(
        select(HandoverEvent.handover_id, func.max(HandoverEvent.at))
        .where(HandoverEvent.handover_id.in_(ids) | HandoverEvent.handover_id.in_(also))
        .group_by(HandoverEvent.handover_id)).all())
    checks = {}
    if held:
        seals = {h.id: h.seals for h in held}
        for handover_id, data in session.execute(
                select(HandoverEvent.handover_id, HandoverEvent.data)
                .where(HandoverEvent.handover_id.in_(seals), HandoverEvent.type == E.SEALS_CHECKED)
                .order_by(HandoverEvent.handover_id, HandoverEvent.seq)):
            seen = data.get("seals_seen", [])
            checks[handover_id] = {"seen": seen, **seal_differences(seals[handover_id], seen)}  # the last one wins
    return {"since": since, "checks": checks}


def _card(h: Handover, now: datetime, facts: dict) -> dict:
    """One load as the station shows it: what to compare at the gate, its state and since when, the steps the
    state machine allows, the last seal check, and how long its driver is overdue to scan out."""
    overdue = (now - h.return_due_at if h.return_due_at is not None and h.returned_at is None
               and h.return_due_at < now else None)
    return {"id": h.id, "state": h.state, "container_no": h.container_no, "booked_at": h.booked_at,
            "arrived_at": h.arrived_at, "return_due_at": h.return_due_at, "seals": h.seals, "cargo": h.cargo,
            "plates": h.plates, "firms": h.firms, "state_since": facts["since"].get(h.id, h.booked_at),
            "allowed": h.allowed, "seal_check": facts["checks"].get(h.id),
            "overdue_minutes": int(overdue.total_seconds() // 60) if overdue is not None else None}


def _get_for_update(session: Session, handover_id: int) -> Handover:
    handover = session.get(Handover, handover_id, with_for_update=True)
    if handover is None:
        raise HandoverNotFound(f"handover {handover_id} does not exist")
    return handover


def _rows_by_id(connection: Connection, query: DriverStatement, first: int,
                second: int | None = None) -> dict[int, tuple]:
    """The rows of `query` (one of the _..._OF_TWO below) for one or two ids, in one statement, by id; a
    missing id is absent. Two fixed parameters, not an expanding IN, whose rendering at each execution cost
    as much as the statement it saved."""
    return {row[0]: row for row in query.all(connection, {"a": first, "b": first if second is None else second})}


def _legs(connection: Connection, leg: dict, other: dict | None = None) -> dict[str, dict[int, tuple]]:
    """The drivers and vehicles of one or two legs (dicts with driver_id and vehicle_id), one statement each."""
    return {"drivers": _rows_by_id(connection, _DRIVERS_OF_TWO, leg["driver_id"],
                                   other["driver_id"] if other else None),
            "vehicles": _rows_by_id(connection, _VEHICLES_OF_TWO, leg["vehicle_id"],
                                    other["vehicle_id"] if other else None)}


def _require_firm_approved(firms: dict[int, tuple], firm_id: int, *, field: str) -> None:
    """Raises Unprocessable when the firm does not exist (is not in `firms`), FirmNotApproved unless it is
    approved."""
    if firm_id not in firms:
        raise Unprocessable(fields={field: [f"firm {firm_id} does not exist"]})
    status = firms[firm_id].status
    if status is not FirmStatus.APPROVED:
        raise FirmNotApproved(f"the firm is {status.value}", fields={field: [f"firm is {status.value}"]})


def _require_site(sites: dict[int, tuple], site_id: int, kind: SiteKind, field: str) -> None:
    site = sites.get(site_id)
    if site is None or site.kind is not kind or not site.active:
        raise Unprocessable(fields={field: [f"not an active {kind.value.replace('_', ' ')}"]})


def _require_leg(legs: dict[str, dict[int, tuple]], driver_id: int, vehicle_id: int, *, firm_ids: set[int],
                 field: str, cross_border: bool = False) -> None:
    """Driver and vehicle (read by _legs) of one of `firm_ids` (both of the same firm), active, cross-border if
    asked."""
    driver, vehicle = legs["drivers"].get(driver_id), legs["vehicles"].get(vehicle_id)
    problems = []
    if driver is None or driver.firm_id not in firm_ids:
        problems.append("the driver is not one of the firm's people")
    elif driver.status is not EntryStatus.ACTIVE:
        problems.append("the driver is suspended")
    elif cross_border and driver.kind is not PersonKind.CROSS_BORDER_DRIVER:
        problems.append("the inbound driver must be a cross-border driver")
    if vehicle is None or vehicle.firm_id not in firm_ids or (
            driver is not None and vehicle.firm_id != driver.firm_id):
        problems.append("the vehicle is not one of the firm's vehicles")
    elif vehicle.status is not EntryStatus.ACTIVE:
        problems.append("the vehicle is suspended")
    if problems:
        raise Unprocessable(fields={field: problems})


def _outbound_leg(legs: dict[str, dict[int, tuple]], data: dict, *, inbound_driver_id: int,
                  firm_ids: set[int]) -> dict:
    """The handover's outbound columns for a checked leg (its driver and vehicle read by _legs)."""
    _require_leg(legs, data["driver_id"], data["vehicle_id"], firm_ids=firm_ids, field="outbound")
    if data["driver_id"] == inbound_driver_id:
        raise Unprocessable(fields={"outbound": ["the outbound driver cannot be the inbound driver"]})
    return {"outbound_driver_id": data["driver_id"], "outbound_vehicle_id": data["vehicle_id"]}


def _require_recorder(actor: Actor, handover: Handover | tuple, event: EventType, areas: AreaTree,
                      session: Session) -> None:
    if actor.role is Role.YARD and actor.site_id == handover.yard_site_id:
        return
    yard = session.get(Site, handover.yard_site_id)
    if event is E.EXCEPTION and regulates(actor, yard.area_code, areas):
        return
    raise Forbidden("events are recorded by the yard's own staff (regulators may record an exception)")


def _clear_driver(session: Session, handover: tuple, event: EventType, data: dict, *, at: datetime,
                  areas: AreaTree, cache: dict, now: datetime) -> str:
    """The driver scanning in must hold a pass for this vehicle, valid at the yard, and a fresh test."""
    if event is E.COLLECTED and handover.outbound_driver_id is None:
        raise Unprocessable(fields={"outbound": ["name the outbound driver and vehicle first"]})
    if not data.get("qr"):
        raise Unprocessable(fields={"qr": ["scan the driver's pass"]})
    driver_id, vehicle_id = ((handover.inbound_driver_id, handover.inbound_vehicle_id) if event is E.ARRIVED
                             else (handover.outbound_driver_id, handover.outbound_vehicle_id))
    yard = find_site_view(session, handover.yard_site_id, cache=cache)  # the per-process cache the scans use
    verdict, vpass = verify_at_site(session, data["qr"], site=yard, at=at,
                                    plate_seen=None, areas=areas, cache=cache, now=now)
    reasons = list(verdict.reasons)
    if vpass is not None and (vpass.vehicle_id != vehicle_id or driver_id not in vpass.driver_ids):
        reasons.append("pass_not_for_this_leg")
    # A route-bound inbound pass must run from this load's crossing to this yard, or the driver could
    # not scan out at the crossing the load was booked through.
    if (vpass is not None and event is E.ARRIVED and vpass.route_crossing_site_id is not None
            and (vpass.route_crossing_site_id, vpass.route_yard_site_id) != (handover.crossing_site_id,
                                                                             handover.yard_site_id)):
        reasons.append("pass_not_for_this_route")
    if reasons or vpass is None:
        raise DriverNotCleared("the driver may not scan in", details={"reasons": reasons or ["malformed"]})
    return vpass.id


def _lock(connection: Connection, handover_id: int, client_event_id: str | None) -> tuple[tuple, tuple]:
    """The handover's row, locked until commit, and what the rules need of its events: the last one's seq
    and time, and whether `client_event_id` was recorded. Raises HandoverNotFound."""
    params = {"id": handover_id, "client_event_id": client_event_id}
    if connection.dialect.name == "sqlite":
        # One statement: inside transaction() SQLite already holds the write lock, so nobody can add an
        # event between BEGIN IMMEDIATE and this read.
        row = _HANDOVER_AND_EVENTS.first(connection, params)
        if row is None:
            raise HandoverNotFound(f"handover {handover_id} does not exist")
        return row, row[-3:]  # the handover's columns, then the three facts
    row = _LOCK_HANDOVER.first(connection, params)
    if row is None:
        raise HandoverNotFound(f"handover {handover_id} does not exist")
    # After the lock, in its own statement: on PostgreSQL it then sees the events committed by whoever held
    # the lock before us (a subquery of the locking statement reads the snapshot taken before the wait).
    return row, _EVENTS_SO_FAR.first(connection, params)


def _times(event: EventType, *, at: datetime, max_return: timedelta) -> dict:
    """The handover's times that `event` sets."""
    if event is E.ARRIVED:
        return {"arrived_at": at}
    if event is E.DROPPED:
        return {"dropped_at": at, "return_due_at": at + max_return}
    if event is E.INBOUND_DEPARTED:
        return {"inbound_departed_at": at}
    if event is E.COLLECTED:
        return {"collected_at": at}
    return {}


def _insert_event(connection: Connection, handover_id: int, seq: int, event: EventType, *, at: datetime,
                  site_id: int | None, actor: Actor, state_after: HandoverState, data: dict, now: datetime,
                  client_event_id: str | None = None) -> None:
    """The event and its audit entry, written with Core: neither is changed afterwards, so the unit of work
    would only add time."""
    audit_seq, audit_hash = audit.append(connection, actor.audit, f"handover.{event.value}",
                                         object_type="handover", object_id=handover_id,
                                         changes={"at": at, "state": state_after.value, **data}, at=now)
    _INSERT_EVENT.execute(connection, {
        "handover_id": handover_id, "seq": seq, "type": event, "at": at, "site_id": site_id,
        "actor_id": actor.account_id, "actor_name": actor.name, "state_after": state_after, "data": data,
        "audit_seq": audit_seq, "audit_hash": audit_hash, "client_event_id": client_event_id})


def _as_read(session: Session, values: dict) -> Handover:
    """The handover as it stands after the event, for the caller (the API answers with it), from the row
    read under the lock and the changes just written (`values`: every column): no statement. Its event list
    loads when first read."""
    values = {key: values[key] for key in _COLUMNS}
    held = session.identity_map.get(identity_key(Handover, values["id"]))
    if held is None:
        held = Handover(**values)
        make_transient_to_detached(held)
        session.add(held)
    else:
        loaded = held.__dict__
        for key, value in values.items():
            if key not in loaded or loaded[key] != value:  # only what differs: setting costs more than comparing
                set_committed_value(held, key, value)
        session.expire(held, ["events"])
    return held


_H, _EV = Handover.__table__, HandoverEvent.__table__
_COLUMNS = tuple(_H.c.keys())
# The statements of the hot path go straight to the driver (core.db.DriverStatement): SQLAlchemy's
# per-execution machinery cost several times SQLite's own work on them.
_EVENT_FACTS = (  # the last event's seq and time, and whether this client_event_id was recorded
    select(_EV.c.seq).where(_EV.c.handover_id == bindparam("id")).order_by(_EV.c.seq.desc()).limit(1)
    .scalar_subquery().label("last_seq"),
    select(_EV.c.at).where(_EV.c.handover_id == bindparam("id")).order_by(_EV.c.seq.desc()).limit(1)
    .scalar_subquery().label("last_at"),
    exists().where(_EV.c.handover_id == bindparam("id"), _EV.c.client_event_id == bindparam("client_event_id"))
    .label("seen"))
_LOCK_HANDOVER = DriverStatement(select(_H).where(_H.c.id == bindparam("id")).with_for_update())
_EVENTS_SO_FAR = DriverStatement(select(*_EVENT_FACTS))
_HANDOVER_AND_EVENTS = DriverStatement(select(_H, *_EVENT_FACTS).where(_H.c.id == bindparam("id")))
_UPDATE_HANDOVER = DriverStatement(update(_H).where(_H.c.id == bindparam("handover_id")))
_INSERT_EVENT = DriverStatement(insert(_EV))
_INSERT_HANDOVER = DriverStatement(insert(_H))
_TWO_IDS = [bindparam("a"), bindparam("b")]
_FIRMS_OF_TWO = DriverStatement(select(Firm.id, Firm.status).where(Firm.id.in_(_TWO_IDS)))
_SITES_OF_TWO = DriverStatement(select(Site.id, Site.kind, Site.active).where(Site.id.in_(_TWO_IDS)))
_DRIVERS_OF_TWO = DriverStatement(select(Person.id, Person.firm_id, Person.status, Person.kind)
                                  .where(Person.id.in_(_TWO_IDS)))
_VEHICLES_OF_TWO = DriverStatement(select(Vehicle.id, Vehicle.firm_id, Vehicle.status)
                                   .where(Vehicle.id.in_(_TWO_IDS)))


def _may_read(session: Session, actor: Actor, handover: Handover, areas: AreaTree) -> bool:
    if actor.role in READ_ALL_ROLES:
        return True
    if actor.role is Role.FIRM:
        return actor.firm_id in (handover.inbound_firm_id, handover.outbound_firm_id)
    if actor.role is Role.YARD:
        return actor.site_id == handover.yard_site_id
    return regulates(actor, session.get(Site, handover.yard_site_id).area_code, areas)

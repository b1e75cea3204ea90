"""What a regulator reviews: the queue of pending passes in its area (oldest first, with counts per filter
value, counted in SQL) and the file of one pass (firm, vehicle, drivers, the firm's other passes, history).

A pass belongs in the queue of the areas that contain its whole scope: its "home" is the smallest area
holding every scope area (a one-street pass lives in that street, a pass over two streets of one district
in the district, a pass over two districts in the city). That is exactly the set of passes the regulator
may decide (rules.covers_scope), each pass is counted once, and the counts add up."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.accounts import Actor, Role
from core.areas import CITY_CODE, AreaTree
from core.audit import AuditEntry
from core.db import Page, paged
from core.errors import Unprocessable
from passes import services
from passes.models import PassStatus, VehiclePass
from passes.rules import QUEUE_AGES, AreaMode
from whitelist.models import Category, Firm, Person, Vehicle

TOP_FIRMS = 30
OTHER_PASSES = 10


@dataclass(frozen=True)
class QueueCounts:
    """How many pending passes each filter value would show, the other filters applied."""

    districts: dict[str, int]      # home district → passes (streets of it included)
    streets: dict[str, int]        # home street → passes
    city_wide: int                 # passes spanning several districts (their home is the city)
    categories: dict[Category, int]
    firms: list[tuple[int, str, int]]  # (firm id, name, passes), the busiest first
    older_than: dict[int, int]     # hours → passes waiting longer than that


def own_area(actor: Actor) -> str:
    """The area whose queue the caller works: a regulator its own, admins and auditors the city."""
    return actor.area_code if actor.role is Role.REGULATOR else CITY_CODE


def queue_filters(*, actor: Actor, areas: AreaTree, filters: dict) -> dict:
    """The pass-list filters (as GET /passes and POST /passes/decisions take them) of the queue: pending
    passes lying wholly within the chosen area, by default the caller's own, plus the other filters given
    (firm, category, created_before). Raises Unprocessable for an area outside the caller's."""
    own = own_area(actor)
    area = filters.get("area") or own
    if not areas.contains(own, area):
        raise Unprocessable(fields={"area": [f"area {area} is not in your area {own}"]})
    chosen = {k: filters[k] for k in ("firm", "category", "created_before") if filters.get(k) is not None}
    return {**chosen, "status": PassStatus.PENDING, "area": area, "area_mode": AreaMode.WITHIN}


def list_queue(session: Session, *, actor: Actor, areas: AreaTree, filters: dict, page: Page,
               now: datetime) -> tuple[list[VehiclePass], int]:
    """One page of the queue, oldest application first, and how many match. Raises Unprocessable, Forbidden."""
    query = services.passes_query(actor=actor, areas=areas, filters=queue_filters(
        actor=actor, areas=areas, filters=filters), now=now)
    items, total = paged(session, query.order_by(VehiclePass.created_at, VehiclePass.id), page)
    return [services.reported(p, now) for p in items], total


def count_queue(session: Session, *, actor: Actor, areas: AreaTree, filters: dict, now: datetime) -> QueueCounts:
    """Counts per area, category, firm and waiting time, each with the other filters applied; a handful
    of GROUP BY statements, whatever the size of the queue (the total comes with list_queue)."""
    chosen = queue_filters(actor=actor, areas=areas, filters=filters)

    def matching(*, without: str):
        rest = {k: v for k, v in chosen.items() if k != without}
        if without == "area":
            rest["area"] = own_area(actor)
        return services.passes_query(actor=actor, areas=areas, filters=rest, now=now)

    districts, streets, city_wide = _home_counts(session, matching(without="area"))
    categories = {Category(c): n for c, n in session.execute(
        matching(without="category").with_only_columns(VehiclePass.category, func.count())
        .group_by(VehiclePass.category))}
    firms = [tuple(row) for row in session.execute(
        matching(without="firm").with_only_columns(VehiclePass.firm_id, Firm.name, func.count())
        .join_from(VehiclePass, Firm, Firm.id == VehiclePass.firm_id)
        .group_by(VehiclePass.firm_id, Firm.name).order_by(func.count().desc(), VehiclePass.firm_id)
        .limit(TOP_FIRMS))]
    ages = session.execute(matching(without="created_before").with_only_columns(*[
        func.coalesce(func.sum(case((VehiclePass.created_at < now - timedelta(hours=h), 1), else_=0)), 0)
        for h in QUEUE_AGES])).one()
    return QueueCounts(districts, streets, city_wide, categories, firms, dict(zip(QUEUE_AGES, ages)))


def _home_counts(session: Session, query) -> tuple[dict[str, int], dict[str, int], int]:
    """(by home district, by home street, spanning several districts) for the passes of `query`: one
    GROUP BY on the stored home (rules.home_area); a street's district is its code's first six digits."""
    districts: dict[str, int] = {}
    streets: dict[str, int] = {}
    city_wide = 0
    for home, n in session.execute(query.with_only_columns(VehiclePass.home_area_code, func.count())
                                   .group_by(VehiclePass.home_area_code)):
        if home is None:  # no scope: within no area, so never in a queue
            continue
        if home == CITY_CODE:
            city_wide += n
            continue
        districts[home[:6]] = districts.get(home[:6], 0) + n
        if len(home) == 9:
            streets[home] = n
    return districts, streets, city_wide


@dataclass(frozen=True)
class PassFile:
    """Everything a regulator looks at before deciding on one pass."""

    vpass: VehiclePass
    firm: Firm
    vehicle: Vehicle | None
    drivers: list[Person]
    others: list[VehiclePass]      # the firm's other passes the caller may see, newest first
    others_total: int
    history: list[AuditEntry]


def pass_file(session: Session, pass_id: str, *, actor: Actor, areas: AreaTree, now: datetime) -> PassFile:
    """One pass with its firm's white-list record, vehicle, drivers, the firm's other passes and the pass's
    history. Raises PassNotFound, or Forbidden when the caller may not see the pass."""
    vpass = services.get_pass(session, pass_id, actor=actor, areas=areas, now=now)
    drivers = services.drivers_of(session, [vpass])
    others, total = paged(session, services.passes_query(
        actor=actor, areas=areas, filters={"firm": vpass.firm_id}, now=now).where(VehiclePass.id != vpass.id)
        .order_by(VehiclePass.created_at.desc(), VehiclePass.id), Page(1, OTHER_PASSES))
    return PassFile(vpass, services.firm_of(session, vpass), session.get(Vehicle, vpass.vehicle_id),
                    [drivers[pid] for pid in vpass.driver_ids if pid in drivers],
                    [services.reported(p, now) for p in others], total,
                    services.pass_history(session, pass_id, actor=actor, areas=areas, now=now))


def firm_names(session: Session, passes: list[VehiclePass]) -> dict[int, str]:
    """The names of these passes' firms, by id (for a list that shows whose pass it is)."""
    firm_ids = {p.firm_id for p in passes}
    if not firm_ids:
        return {}
    return dict(session.execute(select(Firm.id, Firm.name).where(Firm.id.in_(firm_ids))).all())


def plates_of(session: Session, pass_ids: list[str], *, actor: Actor, areas: AreaTree,
              now: datetime) -> dict[str, str]:
    """The plates of those of `pass_ids` the caller may see (to name refused items in a bulk decision)."""
    if not pass_ids:
        return {}
    query = services.passes_query(actor=actor, areas=areas, filters={}, now=now)
    return dict(session.execute(query.with_only_columns(VehiclePass.id, VehiclePass.plate)
                                .where(VehiclePass.id.in_(set(pass_ids)))).all())

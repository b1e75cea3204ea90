"""Relay-yard figures of an area for the console's charts: loads in each yard now against its capacity,
and dwell times (arrival to collection) over the last 24 hours, as the yard board counts them."""
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checkpoints.models import Site, SiteKind
from core.accounts import Actor
from core.areas import AreaTree
from core.permissions import require_reads_area
from logistics.handovers import IN_YARD
from logistics.models import Handover
from logistics.services import _percentile

DWELL_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class YardFigures:
    id: int
    name: str
    capacity: int | None
    occupancy: int                  # loads in the yard now
    dwell_count: int                # loads collected in the window
    dwell_median: float | None      # minutes
    dwell_p90: float | None

    @property
    def occupancy_ratio(self) -> float | None:
        return self.occupancy / self.capacity if self.capacity else None


def yard_figures(session: Session, *, area: str, actor: Actor, areas: AreaTree, now: datetime) -> list[YardFigures]:
    """Each relay yard inside `area`, by name: occupancy now, and the median and 90th percentile of the dwell
    of loads collected in the last 24 hours. Raises NotFound (unknown area) or Forbidden (not the caller's)."""
    require_reads_area(actor, area, areas)
    yards = list(session.scalars(select(Site).where(
        Site.kind == SiteKind.RELAY_YARD, Site.area_code.in_(areas.descendants(area))).order_by(Site.name, Site.id)))
    ids = [y.id for y in yards]
    occupancy = dict(session.execute(select(Handover.yard_site_id, func.count()).where(
        Handover.yard_site_id.in_(ids), Handover.state.in_(IN_YARD)).group_by(Handover.yard_site_id)).all())
    dwell: dict[int, list[float]] = {}
    for yard_id, arrived, collected in session.execute(select(
            Handover.yard_site_id, Handover.arrived_at, Handover.collected_at).where(
            Handover.yard_site_id.in_(ids), Handover.collected_at >= now - DWELL_WINDOW,
            Handover.collected_at <= now, Handover.arrived_at.is_not(None))):
        dwell.setdefault(yard_id, []).append((collected - arrived).total_seconds() / 60)
    figures = []
    for yard in yards:
        minutes = sorted(dwell.get(yard.id, []))
        figures.append(YardFigures(
            id=yard.id, name=yard.name, capacity=yard.capacity, occupancy=occupancy.get(yard.id, 0),
            dwell_count=len(minutes), dwell_median=round(statistics.median(minutes), 1) if minutes else None,
            dwell_p90=round(_percentile(minutes, 0.9), 1) if minutes else None))
    return figures

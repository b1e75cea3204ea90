"""Risk zones as the console shows them: every area's current level, and what setting a level would touch
(the active passes that may be scanned there and the sites whose test rule follows it)."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.areas import AreaTree
from core.errors import NotFound
from checkpoints.models import AreaRisk, Site
from passes.models import PassArea, PassStatus, VehiclePass
from passes.policy import RiskLevel
from passes.rules import related_areas


@dataclass(frozen=True)
class RiskEffect:
    """What a new level for an area touches: the active passes whose scope covers any part of it (they may
    be scanned there), and the active sites inside it (their test rule follows the strictest level above)."""

    area_code: str
    active_passes: int
    sites: list[Site]


def current_risks(session: Session) -> dict[str, AreaRisk]:
    """The latest risk entry of every area that has one (normal included); areas absent are normal."""
    latest = select(func.max(AreaRisk.id)).group_by(AreaRisk.area_code)
    return {r.area_code: r for r in session.scalars(select(AreaRisk).where(AreaRisk.id.in_(latest)))}


def effective_level(code: str, risks: dict[str, AreaRisk], areas: AreaTree) -> RiskLevel:
    """The level checkpoints apply in the area: the strictest of its own and every area containing it."""
    return max((RiskLevel(risks[r.code].level) for r in areas.path(code) if r.code in risks),
               default=RiskLevel.NORMAL)


def risk_effect(session: Session, area_code: str, *, areas: AreaTree, now: datetime) -> RiskEffect:
    """What setting `area_code`'s level touches, counted now. Raises NotFound for an unknown area."""
    if area_code not in areas:
        raise NotFound(f"area {area_code} does not exist")
    touching = select(PassArea.pass_id).where(PassArea.area_code.in_(related_areas(area_code, areas)))
    active = session.scalar(select(func.count()).select_from(VehiclePass).where(
        VehiclePass.id.in_(touching), VehiclePass.status == PassStatus.ACTIVE, VehiclePass.valid_until > now)) or 0
    sites = list(session.scalars(select(Site).where(Site.area_code.in_(areas.descendants(area_code)), Site.active)
                                 .order_by(Site.area_code, Site.name, Site.id)))
    return RiskEffect(area_code=area_code, active_passes=active, sites=sites)

"""Pure jurisdiction checks shared by every domain: may this actor act on that area?"""
from core.accounts import Actor, Role
from core.areas import AreaTree
from core.errors import Forbidden, NotFound

READ_ALL_ROLES = (Role.ADMIN, Role.AUDITOR)


def regulates(actor: Actor, area_code: str, areas: AreaTree) -> bool:
    """Admins regulate everywhere; a regulator regulates its own area and everything inside it."""
    if actor.role is Role.ADMIN:
        return True
    return actor.role is Role.REGULATOR and actor.area_code is not None and areas.contains(
        actor.area_code, area_code)


def require_regulates(actor: Actor, area_code: str, areas: AreaTree) -> None:
    """Raises Forbidden unless `actor` regulates `area_code`."""
    if not regulates(actor, area_code, areas):
        raise Forbidden(f"area {area_code} is outside your jurisdiction")


def visible_area_codes(actor: Actor, areas: AreaTree) -> list[str] | None:
    """Area codes whose records a reader may list; None means no area restriction."""
    if actor.role in READ_ALL_ROLES:
        return None
    if actor.role is Role.REGULATOR and actor.area_code:
        return areas.descendants(actor.area_code)
    return []


def require_reads_area(actor: Actor, area_code: str, areas: AreaTree) -> None:
    """Figures of an area are for admins and auditors (any area) and for regulators of it (their own area
    and those inside it). Raises NotFound for an unknown area code, Forbidden for anyone else."""
    if area_code not in areas:
        raise NotFound(f"no area {area_code}")
    if actor.role not in READ_ALL_ROLES and not (actor.role is Role.REGULATOR and regulates(actor, area_code, areas)):
        raise Forbidden(f"area {area_code} is outside your jurisdiction")

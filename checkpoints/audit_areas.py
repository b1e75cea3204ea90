"""Where checkpoint objects lie, for the audit log: a site and an alert in their area, a route in the areas
of its crossing and its yard, the city-wide policy in the city."""
from sqlalchemy import Select, String, cast, literal, select, union_all
from sqlalchemy.orm import aliased

from core.areas import CITY_CODE
from core.audit_areas import located
from checkpoints.models import Alert, Site, SiteKind


def audit_area_resolvers() -> dict[str, Select]:
    crossing, yard = aliased(Site), aliased(Site)
    route_id = cast(crossing.id, String) + "-" + cast(yard.id, String)  # as set_route_checkpoints records it
    routes = union_all(*(select(route_id.label("object_id"), end.area_code.label("area_code")).select_from(crossing)
                         .join(yard, yard.kind == SiteKind.RELAY_YARD).where(crossing.kind == SiteKind.CROSSING)
                         for end in (crossing, yard))).subquery()
    return {"site": located(Site.id, Site.area_code),
            "alert": located(Alert.id, Alert.area_code),
            "route": select(routes.c.object_id, routes.c.area_code),
            "policy": located(literal("1"), literal(CITY_CODE))}

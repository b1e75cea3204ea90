"""Where audited objects lie: per-object-type area resolvers, and the audit log as a reader may see it.

Each domain package describes its own object types with `audit_area_resolvers()`; the app factory
collects them into app.extensions["audit_areas"], so core never imports a domain package."""
from typing import Mapping

from sqlalchemy import Select, String, cast, select
from sqlalchemy.orm import Session

from core import audit
from core.accounts import Actor
from core.area_table import Area
from core.areas import AreaTree
from core.db import Page
from core.permissions import visible_area_codes


def located(object_id, area_code) -> Select:
    """A resolver: SELECT object_id (as the log's text id), area_code — one row per area the object lies in."""
    return select(cast(object_id, String).label("object_id"), area_code.label("area_code"))


def audit_area_resolvers() -> dict[str, Select]:
    """core's own objects: areas (whose risk level is set). Accounts and signing keys have no area, so only
    auditors and admins see their entries."""
    return {"area": located(Area.code, Area.code)}


def list_visible_entries(session: Session, *, actor: Actor, areas: AreaTree, resolvers: Mapping[str, Select],
                         filters: dict, page: Page) -> tuple[list[audit.AuditEntry], int]:
    """The audit log for this reader: auditors and admins see every entry; a regulator sees the entries
    about objects in its own area (its area and every area below it), nothing else."""
    return audit.list_entries(session, filters=filters, page=page, areas=visible_area_codes(actor, areas),
                              resolvers=resolvers)

"""Where relay-yard objects lie, for the audit log: a handover in its yard's area."""
from sqlalchemy import Select

from core.audit_areas import located
from checkpoints.models import Site
from logistics.models import Handover


def audit_area_resolvers() -> dict[str, Select]:
    return {"handover": located(Handover.id, Site.area_code).join(Site, Site.id == Handover.yard_site_id)}

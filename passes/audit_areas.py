"""Where pass-side objects lie, for the audit log: a pass in each area of its scope."""
from sqlalchemy import Select

from core.audit_areas import located
from passes.models import PassArea


def audit_area_resolvers() -> dict[str, Select]:
    return {"pass": located(PassArea.pass_id, PassArea.area_code)}

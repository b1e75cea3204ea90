"""Where white-list objects lie, for the audit log: a firm in its area, people and vehicles in their firm's."""
from sqlalchemy import Select

from core.audit_areas import located
from whitelist.models import Firm, Person, Vehicle


def audit_area_resolvers() -> dict[str, Select]:
    return {"firm": located(Firm.id, Firm.area_code),
            "person": located(Person.id, Firm.area_code).join(Firm, Firm.id == Person.firm_id),
            "vehicle": located(Vehicle.id, Firm.area_code).join(Firm, Firm.id == Vehicle.firm_id)}

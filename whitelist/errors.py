"""White-list domain errors."""
from core.errors import Conflict, InvalidState, NotFound, Unprocessable


class FirmNotFound(NotFound):
    code = "firm_not_found"


class PersonNotFound(NotFound):
    code = "person_not_found"


class VehicleNotFound(NotFound):
    code = "vehicle_not_found"


class FirmSuspended(InvalidState):
    """The firm is suspended: its lists are frozen until a regulator reinstates it."""

    code = "firm_suspended"


class DuplicateCreditCode(Conflict):
    code = "duplicate_uscc"


class DuplicatePerson(Conflict):
    code = "duplicate_person"


class DuplicatePlate(Conflict):
    code = "duplicate_plate"


class ImportRejected(Unprocessable):
    """The CSV had errors; nothing was imported. `errors` lists every {row, column, message}."""

    code = "import_rejected"
    title = "Import rejected"

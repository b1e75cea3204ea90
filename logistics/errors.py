"""Relay-yard domain errors."""
from core.errors import InvalidState, NotFound, Unprocessable
from passes.errors import NotWhitelisted


class HandoverNotFound(NotFound):
    code = "handover_not_found"


class YardNotFound(NotFound):
    """The site does not exist or is not a relay yard."""

    code = "yard_not_found"


class FirmNotApproved(NotWhitelisted):
    """Only an approved firm books a load, names its outbound leg or collects it (same code as for passes)."""


class EventNotAllowed(InvalidState):
    """The event does not follow the current state; details name the state and the allowed events."""

    code = "event_not_allowed"


class DriverNotCleared(Unprocessable):
    """The driver's pass or health test does not pass the checkpoint rules at the yard."""

    code = "driver_not_cleared"
    title = "Driver not cleared"

"""Relay-yard domain errors."""
from core.errors import InvalidState, NotFound, Unprocessable


class HandoverNotFound(NotFound):
    code = "handover_not_found"


class EventNotAllowed(InvalidState):
    """The event does not follow the current state; details name the state and the allowed events."""

    code = "event_not_allowed"


class DriverNotCleared(Unprocessable):
    """The driver's pass or health test does not pass the checkpoint rules at the yard."""

    code = "driver_not_cleared"
    title = "Driver not cleared"

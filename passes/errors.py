"""Pass domain errors."""
from core.errors import Conflict, NotFound, Unprocessable


class PassNotFound(NotFound):
    code = "pass_not_found"


class OverlappingPass(Conflict):
    code = "overlapping_pass"


class NotWhitelisted(Unprocessable):
    """The vehicle, a driver or the firm is not cleared to hold a pass."""

    code = "not_whitelisted"
    title = "Not on the white list"


class DriverTestedPositive(NotWhitelisted):
    """A driver's latest health test result is positive, under any firm's record of that person."""

    code = "driver_tested_positive"
    title = "A driver tested positive"


class BatchRejected(Unprocessable):
    """A fleet application had errors; nothing was written. `errors` lists every {row, field|column, message}."""

    code = "batch_rejected"
    title = "Fleet application rejected"

"""Checkpoint domain errors."""
from core.errors import Unprocessable


class ScanTimeOutOfBounds(Unprocessable):
    """A device's scan time the server cannot believe: too old, ahead of the server, or before the pass."""

    code = "scan_time_out_of_bounds"
    title = "Scan time out of bounds"

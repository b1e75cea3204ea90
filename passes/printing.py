"""The printable windscreen page's pass: which pass it shows, with its status at the time of printing.
The page itself, and how a stopped pass maps to an HTTP status, live in web/pass_print.py."""
from datetime import datetime

from sqlalchemy.orm import Session

from passes.models import VehiclePass


def pass_for_print(session: Session, pass_id: str, *, now: datetime) -> VehiclePass | None:
    """A pass that was issued (it has a QR), with its status at `now`; None for unknown, pending or
    rejected passes. No token is needed: the page shows what the windscreen shows anyway."""
    vpass = session.get(VehiclePass, pass_id)
    if vpass is None or vpass.qr is None:
        return None
    vpass.reported_status = vpass.status_at(now)
    return vpass

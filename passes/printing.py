"""The printable windscreen page: which pass it shows, and whether it may carry the QR."""
from datetime import datetime

from sqlalchemy.orm import Session

from passes.models import PassStatus, VehiclePass

# A stopped pass prints a page that says so, never the QR. Revoked is final (410 Gone); suspended may be
# reinstated, so the printable page conflicts with the pass's current state (409), not gone for good.
STOPPED_HTTP_STATUS = {PassStatus.REVOKED: 410, PassStatus.SUSPENDED: 409}


def pass_for_print(session: Session, pass_id: str, *, now: datetime) -> VehiclePass | None:
    """A pass that was issued (it has a QR), with its status at `now`; None for unknown, pending or
    rejected passes. No token is needed: the page shows what the windscreen shows anyway."""
    vpass = session.get(VehiclePass, pass_id)
    if vpass is None or vpass.qr is None:
        return None
    vpass.reported_status = vpass.status_at(now)
    return vpass


def stopped_status(vpass: VehiclePass) -> int | None:
    """The HTTP status of the "must not be used" page, or None when the pass may be printed."""
    return STOPPED_HTTP_STATUS.get(vpass.status)

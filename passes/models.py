"""Pass tables: vehicle passes, their drivers, and the areas of their scope (for area queries)."""
import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, str_enum
from core.errors import InvalidState
from passes.rules import home_area
from whitelist.models import Category


class PassStatus(enum.StrEnum):
    PENDING = "pending"
    REJECTED = "rejected"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"  # reported for an active pass past valid_until; never stored


class SuspensionCause(enum.StrEnum):
    """Why a pass is suspended, so that lifting one cause does not lift another."""

    REGULATOR = "regulator"
    FIRM_SUSPENDED = "firm_suspended"
    POSITIVE_TEST = "positive_test"
    ENTRY_SUSPENDED = "entry_suspended"  # a driver or the vehicle it names was suspended on the white list


# action -> (states it may start from, resulting state); the guard method applies it.
PASS_TRANSITIONS = {
    "approve": ({PassStatus.PENDING}, PassStatus.ACTIVE),
    "reject": ({PassStatus.PENDING}, PassStatus.REJECTED),
    "suspend": ({PassStatus.ACTIVE}, PassStatus.SUSPENDED),
    "reinstate": ({PassStatus.SUSPENDED}, PassStatus.ACTIVE),
    "revoke": ({PassStatus.ACTIVE, PassStatus.SUSPENDED}, PassStatus.REVOKED),
}


def actions_from(status: "PassStatus") -> list[str]:
    """The actions a pass in `status` allows, in the order PASS_TRANSITIONS lists them."""
    return [action for action, (sources, _) in PASS_TRANSITIONS.items() if status in sources]


def _home_of_inserted(context) -> str | None:
    # Rows inserted without the ORM (seed data, benches, tests) still get their home from their scope.
    return home_area(context.get_current_parameters().get("scope") or [])


def transition_error(action: str, status: "PassStatus") -> InvalidState:
    """The error for `action` on a pass in `status`, which it may not start from: names the state."""
    return InvalidState(f"cannot {action} a pass that is {status.value}", details={
        "status": status.value, "allowed": sorted(actions_from(status))})


class VehiclePass(Base):
    __tablename__ = "passes"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # short random id, printed and in the QR
    serial: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # status-list index, set on approval
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))  # indexed with status below
    plate: Mapped[str] = mapped_column(String(16))
    hk_plate: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[Category] = mapped_column(str_enum(Category))
    scope: Mapped[list[str]] = mapped_column(JSON)
    # rules.home_area(scope), stored so the queue filters and counts by area with one indexed column.
    home_area_code: Mapped[str | None] = mapped_column(String(12), index=True, default=_home_of_inserted)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime] = mapped_column(index=True)
    purpose: Mapped[str] = mapped_column(String(500))
    route_crossing_site_id: Mapped[int | None]
    route_yard_site_id: Mapped[int | None]
    status: Mapped[PassStatus] = mapped_column(str_enum(PassStatus), index=True)
    suspension_cause: Mapped[SuspensionCause | None] = mapped_column(str_enum(SuspensionCause))
    reason: Mapped[str | None] = mapped_column(String(500))
    kid: Mapped[str | None] = mapped_column(String(16))
    qr: Mapped[str | None] = mapped_column(Text)
    # Read by created_at through ix_passes_status_created_at only: an index on created_at alone let
    # PostgreSQL walk every older pass to find the queue's oldest pending ones (docs/performance.md).
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    approved_at: Mapped[datetime | None] = mapped_column(index=True)  # the charts' issued per day

    drivers: Mapped[list["PassDriver"]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    area_rows: Mapped[list["PassArea"]] = relationship(cascade="all, delete-orphan")  # written, never read

    __table_args__ = (
        Index("ix_passes_vehicle_status", "vehicle_id", "status"),
        # The regulators' queue: its counts (by home, category, firm, waiting time) read this index only,
        # and its page walks the pending passes oldest first.
        Index("ix_passes_queue", "status", "home_area_code", "created_at", "category", "firm_id"),
        Index("ix_passes_status_created_at", "status", "created_at"),
    )

    @property
    def driver_ids(self) -> list[int]:
        return sorted(d.person_id for d in self.drivers)

    @property
    def route(self) -> dict | None:
        if self.route_crossing_site_id is None:
            return None
        return {"crossing_site_id": self.route_crossing_site_id, "yard_site_id": self.route_yard_site_id}

    def apply(self, action: str, *, at: datetime) -> PassStatus:
        """Move to the state `action` leads to; raises InvalidState naming the current state."""
        allowed_from, target = PASS_TRANSITIONS[action]
        if self.status not in allowed_from:
            raise transition_error(action, self.status)
        previous, self.status, self.updated_at = self.status, target, at
        if target is not PassStatus.SUSPENDED:
            self.suspension_cause = None
        return previous

    def status_at(self, now: datetime) -> PassStatus:
        """The status to report: an active pass whose window is over is expired."""
        if self.status is PassStatus.ACTIVE and self.valid_until <= now:
            return PassStatus.EXPIRED
        return self.status


class PassDriver(Base):
    __tablename__ = "pass_drivers"

    pass_id: Mapped[str] = mapped_column(ForeignKey("passes.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)


class PassArea(Base):
    """One row per scope area, so "passes touching this area" is an indexed query."""

    __tablename__ = "pass_areas"

    pass_id: Mapped[str] = mapped_column(ForeignKey("passes.id"), primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), primary_key=True, index=True)

"""Relay-yard tables: handovers (one load's journey) and their events (the chain of custody)."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, str_enum
from logistics.handovers import EventType, HandoverState, allowed_events, seal_differences
from whitelist.models import Category, Firm, Vehicle


class Handover(Base):
    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    yard_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    crossing_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    inbound_firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    inbound_driver_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    inbound_vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    container_no: Mapped[str] = mapped_column(String(11), index=True)
    seals: Mapped[list[str]] = mapped_column(JSON)
    sealed_by: Mapped[str] = mapped_column(String(200))
    cargo_category: Mapped[Category] = mapped_column(str_enum(Category))
    cargo_description: Mapped[str] = mapped_column(String(500))
    packages: Mapped[int] = mapped_column(Integer)
    gross_kg: Mapped[int] = mapped_column(Integer)
    outbound_firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"), index=True)
    outbound_driver_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    outbound_vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    state: Mapped[HandoverState] = mapped_column(str_enum(HandoverState))
    booked_at: Mapped[datetime]
    arrived_at: Mapped[datetime | None]
    dropped_at: Mapped[datetime | None]
    inbound_departed_at: Mapped[datetime | None]
    collected_at: Mapped[datetime | None]
    return_due_at: Mapped[datetime | None]  # the inbound driver must scan out at the crossing by then
    returned_at: Mapped[datetime | None]
    return_alerted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    # Read by the station (plates to compare, the firm of a driver overdue); the board loads them in bulk.
    inbound_vehicle: Mapped[Vehicle] = relationship(foreign_keys=[inbound_vehicle_id], viewonly=True)
    outbound_vehicle: Mapped[Vehicle | None] = relationship(foreign_keys=[outbound_vehicle_id], viewonly=True)
    inbound_firm: Mapped[Firm] = relationship(foreign_keys=[inbound_firm_id], viewonly=True)
    outbound_firm: Mapped[Firm | None] = relationship(foreign_keys=[outbound_firm_id], viewonly=True)
    events: Mapped[list["HandoverEvent"]] = relationship(order_by="HandoverEvent.seq", lazy="selectin",
                                                         cascade="all, delete-orphan")

    # The yard board lists by yard, state and day: one index serves all three.
    __table_args__ = (Index("ix_handovers_yard_state_booked", "yard_site_id", "state", "booked_at"),)

    @property
    def inbound(self) -> dict:
        return {"driver_id": self.inbound_driver_id, "vehicle_id": self.inbound_vehicle_id,
                "container_no": self.container_no, "seals": self.seals, "sealed_by": self.sealed_by}

    @property
    def outbound(self) -> dict:
        return {"driver_id": self.outbound_driver_id, "vehicle_id": self.outbound_vehicle_id}

    @property
    def cargo(self) -> dict:
        return {"category": self.cargo_category.value, "description": self.cargo_description,
                "packages": self.packages, "gross_kg": self.gross_kg}

    @property
    def plates(self) -> dict:
        """The inbound tractor's plates (mainland and Hong Kong) and the outbound vehicle's, once named."""
        out = self.outbound_vehicle
        return {"inbound": self.inbound_vehicle.plate, "inbound_hk": self.inbound_vehicle.hk_plate,
                "outbound": out.plate if out is not None else None}

    @property
    def firms(self) -> dict:
        return {"inbound": self.inbound_firm.name,
                "outbound": self.outbound_firm.name if self.outbound_firm is not None else None}

    @property
    def allowed(self) -> list[str]:
        """The events the state machine allows now (the station shows only these)."""
        return allowed_events(self.state)

    @property
    def state_since(self) -> datetime:
        """When the load entered its current state: its last event, or its booking."""
        return self.events[-1].at if self.events else self.booked_at

    @property
    def seal_check(self) -> dict | None:
        """The last seal check: the seals seen and which differ from the booking (None before any check)."""
        checks = [e for e in self.events if e.type is EventType.SEALS_CHECKED]
        if not checks:
            return None
        seen = checks[-1].data.get("seals_seen", [])
        return {"seen": seen, **seal_differences(self.seals, seen)}


class HandoverEvent(Base):
    __tablename__ = "handover_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[EventType] = mapped_column(str_enum(EventType))
    at: Mapped[datetime]
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(128))
    state_after: Mapped[HandoverState] = mapped_column(str_enum(HandoverState))
    data: Mapped[dict] = mapped_column(JSON)
    audit_seq: Mapped[int] = mapped_column(Integer)     # the audit entry written with this event
    audit_hash: Mapped[str] = mapped_column(String(64))
    # Chosen by the device that recorded the step: a step queued offline and uploaded twice is recorded once.
    client_event_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_handover_events_handover_seq", "handover_id", "seq", unique=True),
                      Index("ix_handover_events_handover_client_event_id", "handover_id", "client_event_id",
                            unique=True))

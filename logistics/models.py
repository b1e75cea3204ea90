"""Relay-yard tables: handovers (one load's journey) and their events (the chain of custody)."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, str_enum
from logistics.handovers import EventType, HandoverState
from whitelist.models import Category


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

    __table_args__ = (Index("ix_handover_events_handover_seq", "handover_id", "seq", unique=True),)

"""White-list tables: essential-supply firms, their people (couriers and drivers) and their vehicles."""
import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, str_enum
from core.errors import InvalidState


class Category(enum.StrEnum):
    GRAIN_OIL = "grain_oil"
    VEGETABLES = "vegetables"
    MEAT = "meat"
    MEDICINE = "medicine"
    EXPRESS_DELIVERY = "express_delivery"
    FOOD_DELIVERY = "food_delivery"
    UTILITIES = "utilities"
    CROSS_BORDER_FREIGHT = "cross_border_freight"
    OTHER = "other"


class FirmStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    REJECTED = "rejected"  # a pending application the regulator turned down; final (the firm applies anew)
    REVOKED = "revoked"  # struck off the white list for good, with every pass it held


class PersonKind(enum.StrEnum):
    COURIER = "courier"
    DRIVER = "driver"
    CROSS_BORDER_DRIVER = "cross_border_driver"


class IdType(enum.StrEnum):
    CN_RESIDENT_ID = "cn_resident_id"
    HK_ID = "hk_id"
    HK_MACAO_TRAVEL_PERMIT = "hk_macao_travel_permit"
    PASSPORT = "passport"


class EntryStatus(enum.StrEnum):
    """Status of a person or a vehicle on the white list."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class VehicleKind(enum.StrEnum):
    VAN = "van"
    TRUCK = "truck"
    TRACTOR = "tractor"
    TRAILER = "trailer"
    CAR = "car"
    MOTORCYCLE = "motorcycle"


# Which firm transitions each action allows; the guard method below applies it.
FIRM_TRANSITIONS = {
    "approve": ({FirmStatus.PENDING}, FirmStatus.APPROVED),
    "reject": ({FirmStatus.PENDING}, FirmStatus.REJECTED),
    "suspend": ({FirmStatus.APPROVED}, FirmStatus.SUSPENDED),
    "reinstate": ({FirmStatus.SUSPENDED}, FirmStatus.APPROVED),
    "revoke": ({FirmStatus.APPROVED, FirmStatus.SUSPENDED}, FirmStatus.REVOKED),
}


class Firm(Base):
    __tablename__ = "firms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    category: Mapped[Category] = mapped_column(str_enum(Category))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    address: Mapped[str] = mapped_column(String(300))
    contact_name: Mapped[str] = mapped_column(String(100))
    # Like a person's phone: ciphertext (AES-GCM, purpose "contact_phone") and the masked form shown to readers.
    contact_phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    contact_phone_masked: Mapped[str] = mapped_column(String(32))
    status: Mapped[FirmStatus] = mapped_column(str_enum(FirmStatus), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def apply(self, action: str, *, at: datetime) -> FirmStatus:
        """Move to the state `action` leads to; raises InvalidState when the current state forbids it."""
        allowed_from, target = FIRM_TRANSITIONS[action]
        if self.status not in allowed_from:
            raise InvalidState(f"cannot {action} a firm that is {self.status.value}",
                               details={"status": self.status.value,
                                        "allowed": sorted(a for a, (src, _) in FIRM_TRANSITIONS.items()
                                                          if self.status in src)})
        previous, self.status, self.updated_at = self.status, target, at
        return previous


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    kind: Mapped[PersonKind] = mapped_column(str_enum(PersonKind))
    name: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[IdType] = mapped_column(str_enum(IdType))
    # Ciphertext (AES-GCM) and a keyed hash for exact search; the clear number is never stored.
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(32))
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_masked: Mapped[str] = mapped_column(String(32))
    status: Mapped[EntryStatus] = mapped_column(str_enum(EntryStatus))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("firm_id", "id_hash", name="uq_people_firm_id_hash"),)


class Vehicle(Base):
    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16), unique=True)
    hk_plate: Mapped[str | None] = mapped_column(String(16), unique=True)
    kind: Mapped[VehicleKind] = mapped_column(str_enum(VehicleKind))
    status: Mapped[EntryStatus] = mapped_column(str_enum(EntryStatus))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


Index("ix_firms_name", Firm.name)

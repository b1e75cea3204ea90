"""Checkpoint tables: sites, alerts, risk levels and the policy, health tests, scans, routes and the
status lists published for offline devices."""
import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, str_enum
from passes.policy import RiskLevel


class SiteKind(enum.StrEnum):
    CHECKPOINT = "checkpoint"
    CROSSING = "crossing"
    RELAY_YARD = "relay_yard"


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SiteKind] = mapped_column(str_enum(SiteKind), index=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    capacity: Mapped[int | None]
    ref_code: Mapped[str | None] = mapped_column(String(16), unique=True)  # reference sites, e.g. "SZB"
    # False for a crossing that no longer clears goods (Huanggang since 2025-12-21): no new routes use it.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AlertKind(enum.StrEnum):
    CLONE_SUSPECTED = "clone_suspected"
    SEAL_MISMATCH = "seal_mismatch"
    RETURN_OVERDUE = "return_overdue"
    LOAD_HELD = "load_held"
    POSITIVE_TEST = "positive_test"  # a registered person tested positive: their passes were suspended


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind), index=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    details: Mapped[dict] = mapped_column(JSON)
    raised_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))


class TestResult(enum.StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"


class Verdict(enum.StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


class AreaRisk(Base):
    """Risk-level history: the newest row per area is its current level."""

    __tablename__ = "area_risks"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    level: Mapped[int] = mapped_column(Integer)  # RiskLevel
    reason: Mapped[str] = mapped_column(String(500))
    set_at: Mapped[datetime]
    set_by: Mapped[str] = mapped_column(String(128))

    @property
    def level_label(self) -> str:
        return RiskLevel(self.level).label


class PolicySetting(Base):
    """The checkpoint policy (one row): maximum age of a negative test per risk level."""

    __tablename__ = "policy_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    max_test_age_hours: Mapped[dict] = mapped_column(JSON)  # {"normal": 72, ...}
    tests_required: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))


class HealthTest(Base):
    """A lab result, keyed by the person's keyed identity hash (so it reaches every firm's record of them)."""

    __tablename__ = "health_tests"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_hash: Mapped[str] = mapped_column(String(64))
    # The person key (identifier type and number) encrypted, purpose "person_key": what lets a key rotation
    # recompute person_hash. Results recorded before migration 0008 have none (docs/deploy.md, section 9).
    person_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    sampled_at: Mapped[datetime]
    result: Mapped[TestResult] = mapped_column(str_enum(TestResult))
    lab: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_health_tests_person_sampled", "person_hash", "sampled_at"),)


class Scan(Base):
    """One checkpoint scan: pass, site, time, verdict and reasons; never identity numbers."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    client_scan_id: Mapped[str | None] = mapped_column(String(64))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    pass_id: Mapped[str | None] = mapped_column(String(16))
    serial: Mapped[int | None] = mapped_column(BigInteger)
    plate_seen: Mapped[str | None] = mapped_column(String(32))
    scanned_at: Mapped[datetime]
    received_at: Mapped[datetime]
    verdict: Mapped[Verdict] = mapped_column(str_enum(Verdict))
    reasons: Mapped[list[str]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("account_id", "client_scan_id", name="uq_scans_account_client_scan_id"),
                      Index("ix_scans_pass_scanned", "pass_id", "scanned_at"),
                      Index("ix_scans_scanned_at", "scanned_at"))


class StatusListBuild(Base):
    """Each distinct status list ever published; its version increases whenever the content changes."""

    __tablename__ = "status_list_builds"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime]


class RouteCheckpoint(Base):
    """A checkpoint a regulator put on a cross-border route (crossing → relay yard)."""

    __tablename__ = "route_checkpoints"

    crossing_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    yard_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    checkpoint_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)

"""The areas table (reference data loaded by the first migration) and its queries."""
from sqlalchemy import String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.areas import AreaLevel, read_reference_areas
from core.db import Base, str_enum
from core.errors import NotFound


class Area(Base):
    __tablename__ = "areas"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel))
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(96))
    # The city's parent (Guangdong province) is outside the tree, so it is not a foreign key target.
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)


def list_areas(session: Session, *, parent: str | None = None, level: AreaLevel | None = None) -> list[Area]:
    query = select(Area).order_by(Area.code)
    if parent is not None:
        query = query.where(Area.parent_code == parent)
    if level is not None:
        query = query.where(Area.level == level)
    return list(session.scalars(query))


def get_area(session: Session, code: str) -> Area:
    """Raises NotFound for an unknown code."""
    area = session.get(Area, code)
    if area is None:
        raise NotFound(f"area {code} does not exist")
    return area


def load_reference_areas(connection_or_session) -> int:
    """Insert the shipped reference areas that are missing (used by the migration and by tests)."""
    existing = set(connection_or_session.scalars(select(Area.code)))
    rows = [dict(code=r.code, parent_code=r.parent_code, level=r.level, name_zh=r.name_zh,
                 name_en=r.name_en) for r in read_reference_areas() if r.code not in existing]
    if rows:
        connection_or_session.execute(insert(Area), rows)
    return len(rows)

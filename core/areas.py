"""The jurisdiction tree (city → district → street) and the one rule that says which area contains which."""
import csv
import enum
from dataclasses import dataclass
from importlib import resources
from typing import Iterable, Mapping

from sqlalchemy import String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, str_enum
from core.errors import NotFound

CITY_CODE = "440300"


class AreaLevel(enum.StrEnum):
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"


class Area(Base):
    __tablename__ = "areas"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel))
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(96))
    # The city's parent (Guangdong province) is outside the tree, so it is not a foreign key target.
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)


def contains(ancestor: str, descendant: str, parents: Mapping[str, str | None]) -> bool:
    """True when `descendant` is `ancestor` itself or lies anywhere below it in the tree.

    Every permission and scope check in the project goes through this function. Unknown codes are
    contained by nothing and contain nothing.
    """
    if ancestor not in parents or descendant not in parents:
        return False
    code: str | None = descendant
    while code is not None:
        if code == ancestor:
            return True
        code = parents.get(code)
    return False


@dataclass(frozen=True)
class AreaRecord:
    code: str
    parent_code: str | None
    level: AreaLevel
    name_zh: str
    name_en: str


class AreaTree:
    """The reference areas in memory: lookups, containment and descendants, without a database."""

    def __init__(self, records: Iterable[AreaRecord]):
        self.by_code = {r.code: r for r in records}
        # Parents outside the tree (the province above the city) become None: the city is the root.
        self.parents = {c: (r.parent_code if r.parent_code in self.by_code else None)
                        for c, r in self.by_code.items()}

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def get(self, code: str) -> AreaRecord | None:
        return self.by_code.get(code)

    def contains(self, ancestor: str, descendant: str) -> bool:
        return contains(ancestor, descendant, self.parents)

    def contains_all(self, ancestor: str, descendants: Iterable[str]) -> bool:
        return all(self.contains(ancestor, d) for d in descendants)

    def descendants(self, code: str) -> list[str]:
        """The area itself and every area below it."""
        return [c for c in self.by_code if self.contains(code, c)]

    def path(self, code: str) -> list[AreaRecord]:
        """From the root down to the area."""
        chain = []
        current: str | None = code
        while current is not None:
            chain.append(self.by_code[current])
            current = self.parents[current]
        return chain[::-1]


def read_reference_areas() -> list[AreaRecord]:
    """Shenzhen's city, districts and streets with their official NBS codes (shipped package data)."""
    with resources.files("core.data").joinpath("shenzhen_areas.csv").open(encoding="utf-8") as f:
        return [AreaRecord(code=row["code"], parent_code=row["parent_code"] or None,
                           level=AreaLevel(row["level"]), name_zh=row["name_zh"], name_en=row["name_en"])
                for row in csv.DictReader(f)]


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

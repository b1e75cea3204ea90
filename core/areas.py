"""The jurisdiction tree (city → district → street) and the one rule that says which area contains which.

Pure: no Flask, no database, so the offline verifier can use it too."""
import csv
import enum
from dataclasses import dataclass
from importlib import resources
from typing import Iterable, Mapping


CITY_CODE = "440300"


class AreaLevel(enum.StrEnum):
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"


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


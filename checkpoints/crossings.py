"""The Shenzhen–Hong Kong goods crossings that ship as reference sites (pure: no Flask, no session;
the migration that loads them imports this module)."""
import csv
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class ReferenceCrossing:
    ref_code: str
    name: str
    area_code: str
    lat: float
    lon: float
    goods: bool


def read_reference_crossings() -> list[ReferenceCrossing]:
    """The five Shenzhen–Hong Kong road crossings (shared/data/crossings.csv, copied as package data)."""
    with resources.files("checkpoints.data").joinpath("crossings.csv").open(encoding="utf-8") as f:
        return [ReferenceCrossing(ref_code=r["id"], name=f"{r['sz_name_zh']} {r['sz_name_en']}",
                                  area_code=r["sz_street_code"] or r["sz_district_code"], lat=float(r["lat"]),
                                  lon=float(r["lon"]), goods=r["goods_vehicles_status"].startswith("open"))
                for r in csv.DictReader(f)]

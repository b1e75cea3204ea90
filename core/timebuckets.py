"""Beijing days and hours as SQL GROUP BY keys, the same on SQLite and PostgreSQL.

Instants are stored as naive UTC (core.db.UTCDateTime). China keeps one fixed offset, UTC+8, all year, so
a Beijing day or hour is the UTC instant shifted by eight hours and truncated: no time-zone tables needed.
Both dialects give the key as text ('2026-12-03' or '2026-12-03 14'), which day_key() and hour_key() build
from Python datetimes for the lookup. A filter on the raw column beside the key keeps its index usable."""
from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

BEIJING = timezone(timedelta(hours=8), "CST")
OFFSET_HOURS = 8
_FORMATS = {"day": ("%Y-%m-%d", "YYYY-MM-DD"), "hour": ("%Y-%m-%d %H", "YYYY-MM-DD HH24")}


class beijing_bucket(FunctionElement):
    """beijing_bucket(column, "day" | "hour"): the Beijing day or hour of a stored UTC instant, as text."""

    type = String()
    inherit_cache = True
    name = "beijing_bucket"

    def __init__(self, column, unit: str):
        if unit not in _FORMATS:
            raise ValueError(f"unknown bucket unit {unit!r}")
        self.unit = unit
        super().__init__(column)


@compiles(beijing_bucket, "sqlite")
def _sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"strftime('{_FORMATS[element.unit][0]}', {column}, '+{OFFSET_HOURS} hours')"


@compiles(beijing_bucket, "postgresql")
def _postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} + interval '{OFFSET_HOURS} hours', '{_FORMATS[element.unit][1]}')"


def day_key(instant: datetime) -> str:
    return instant.astimezone(BEIJING).strftime(_FORMATS["day"][0])


def hour_key(instant: datetime) -> str:
    return instant.astimezone(BEIJING).strftime(_FORMATS["hour"][0])


def beijing_midnight(instant: datetime) -> datetime:
    """The start of the Beijing day that holds `instant` (an aware datetime, in Beijing time)."""
    local = instant.astimezone(BEIJING)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def beijing_hour(instant: datetime) -> datetime:
    return instant.astimezone(BEIJING).replace(minute=0, second=0, microsecond=0)

"""Pure pass rules: validity windows, scopes, approval jurisdiction, pass ids, and the QR claims."""
import enum
import secrets
from datetime import datetime, timedelta

from core.areas import CITY_CODE, AreaTree
from core.errors import Unprocessable

# Crockford base32 without I, L, O, U: easy to read aloud and to type from a printout.
ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 8  # 40 bits: unguessable enough with rate limits, and it keeps a typical pass at QR version 8


def new_pass_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def check_window(valid_from: datetime, valid_until: datetime, *, now: datetime, max_days: int) -> None:
    """A window must end after it starts, not be over already, and last at most `max_days`.

    Raises Unprocessable naming the field."""
    if valid_until <= valid_from:
        raise Unprocessable(fields={"valid_until": ["must be after valid_from"]})
    if valid_until <= now:
        raise Unprocessable(fields={"valid_until": ["the window is already over"]})
    if valid_until - valid_from > timedelta(days=max_days):
        raise Unprocessable(fields={"valid_until": [f"a pass lasts at most {max_days} days"]})


def normalise_scope(codes: list[str], areas: AreaTree) -> list[str]:
    """Known area codes, de-duplicated, in order. Raises Unprocessable listing the unknown ones."""
    unknown = [c for c in codes if c not in areas]
    if unknown:
        raise Unprocessable(fields={"scope": [f"unknown area code {c}" for c in unknown]})
    return list(dict.fromkeys(codes))


def home_area(scope: list[str]) -> str | None:
    """The smallest area holding every area of the scope (None for an empty one): the street of a
    one-street scope, the district of a scope inside one district, else the city. A street's district is
    the first six digits of its NBS code (true of the whole reference tree, checked by tests/unit), so
    this needs no tree, and the migration that stored it for older passes computes it the same way in SQL."""
    codes = set(scope)
    if not codes:
        return None
    districts = {code[:6] for code in codes}
    if CITY_CODE in codes or len(districts) > 1:
        return CITY_CODE
    return codes.pop() if len(codes) == 1 else districts.pop()


def covers_scope(jurisdiction: str, scope: list[str], areas: AreaTree) -> bool:
    """A regulator may act on a pass only when its area contains every area of the scope."""
    return bool(scope) and areas.contains_all(jurisdiction, scope)


# The regulators' queue offers "waiting longer than" these many hours, with a count for each.
QUEUE_AGES = (1, 2, 6, 24)


class AreaMode(enum.StrEnum):
    """How an area filter matches a pass's scope."""

    TOUCHES = "touches"  # a scope area is the area, lies inside it, or contains it
    WITHIN = "within"    # every scope area is the area or lies inside it


def related_areas(code: str, areas: AreaTree) -> list[str]:
    """Areas whose passes concern `code`: the area, everything inside it, and the areas above it.
    An unknown code concerns nothing."""
    if code not in areas:
        return []
    return list(dict.fromkeys(areas.descendants(code) + [r.code for r in areas.path(code)]))

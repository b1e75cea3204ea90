"""Pure rules for white-list identifiers: ID numbers, USCC, phones, plates and container numbers."""

import datetime as dt
import re

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric


class InvalidIdentifier(ValueError):
    """A malformed identifier; `message` is short and safe to return to API clients."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


ID_TYPES = ("cn_resident_id", "hk_id", "hk_macao_travel_permit", "passport")

# Chinese IMEs often type full-width ASCII (Ａ１２３); fold it, and upper-case ASCII only so that
# str.upper() cannot turn a non-ASCII letter (ß, ı) into characters that happen to pass a regex.
_CHAR_TABLE = {0x3000: " "}
_CHAR_TABLE.update({c: chr(c - 0xFEE0).upper() for c in range(0xFF01, 0xFF5F)})
_CHAR_TABLE.update({c: chr(c).upper() for c in range(ord("a"), ord("z") + 1)})

_ID_SEPARATORS = re.compile(r"[\s\-‐‑‒–—()\[\]]")


def _fold(value: str) -> str:
    return value.translate(_CHAR_TABLE)


def _require_id_type(id_type: str) -> None:
    if id_type not in ID_TYPES:
        raise InvalidIdentifier("unknown identifier type")


def normalise_id_number(id_type: str, value: str) -> str:
    """Fold full-width characters, upper-case, and drop spaces, hyphens and brackets.

    The rule is the same for every id_type today; callers pass it so one type can diverge later.
    """
    return _ID_SEPARATORS.sub("", _fold(value))


def validate_id_number(id_type: str, value: str, *, today: dt.date | None = None) -> str:
    """Return the normalised number if it is well formed for id_type.

    `today` enables the birth-date-in-the-future check for mainland IDs. Raises: InvalidIdentifier.
    """
    _require_id_type(id_type)
    number = normalise_id_number(id_type, value)
    if id_type == "cn_resident_id":
        return _validate_ric(number, today)
    if id_type == "hk_id":
        return _validate_hkid(number)
    if id_type == "hk_macao_travel_permit":
        if not re.fullmatch(r"[HM][0-9]{8}(?:[0-9]{2})?", number):
            raise InvalidIdentifier("unknown format")
        return number
    if not re.fullmatch(r"[A-Z0-9]{5,20}", number):
        raise InvalidIdentifier("unknown format")
    return number


def _validate_ric(number: str, today: dt.date | None) -> str:
    if re.fullmatch(r"[0-9]{15}", number):
        raise InvalidIdentifier("15-digit numbers are no longer accepted; use the 18-digit number")
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise InvalidIdentifier("unknown format")
    try:
        ric.validate(number)
    except stdnum_errors.InvalidChecksum:
        raise InvalidIdentifier("check digit does not match") from None
    except stdnum_errors.InvalidComponent:
        # Raised for an impossible date (checked below) and for a place code stdnum does not know
        # for the birth year: 830000 permits, or 4403xx codes created after the holder was born.
        pass
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier("not a valid date of birth") from None
    if today is not None and born > today:
        raise InvalidIdentifier("not a valid date of birth")
    return number


def _hkid_check_char(body: str) -> str:
    # A one-letter prefix is left-padded with a space worth 36; int(c, 36) gives A=10 .. Z=35.
    padded = body.rjust(8)
    total = sum((36 if c == " " else int(c, 36)) * w for c, w in zip(padded, range(9, 1, -1)))
    remainder = -total % 11
    return "A" if remainder == 10 else str(remainder)


def _validate_hkid(number: str) -> str:
    if not re.fullmatch(r"[A-Z]{1,2}[0-9]{6}[0-9A]", number):
        raise InvalidIdentifier("unknown format")
    if number[-1] != _hkid_check_char(number[:-1]):
        raise InvalidIdentifier("check digit does not match")
    return number


def person_key(id_type: str, normalised: str) -> str:
    """Stable identity key for de-duplication: "<id_type>:<number>".

    A travel permit's last two digits count re-issued cards; its first 9 chars identify the person.
    """
    _require_id_type(id_type)
    if id_type == "hk_macao_travel_permit":
        normalised = normalised[:9]
    return f"{id_type}:{normalised}"


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [3**i % 31 for i in range(17)]
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def validate_uscc(value: str) -> str:
    """Return the normalised Unified Social Credit Code (GB 32100-2015) if both check chars match.

    Own mod-31 check, so codes from authorities N, Y, A... pass (stdnum rejects them).
    Raises: InvalidIdentifier.
    """
    code = _ID_SEPARATORS.sub("", _fold(value))
    if len(code) != 18:
        raise InvalidIdentifier("must be 18 characters")
    if any(c not in _USCC_ALPHABET for c in code):
        raise InvalidIdentifier("contains a character that is not allowed")
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(code, _USCC_WEIGHTS))
    if code[-1] != _USCC_ALPHABET[-total % 31]:
        raise InvalidIdentifier("check character does not match")
    # Positions 9-17 are a GB 11714 organisation code with its own check char, which stdnum skips.
    org_total = sum(int(c, 36) * w for c, w in zip(code[8:16], _ORG_CODE_WEIGHTS))
    if code[16] != "0123456789X0"[11 - org_total % 11]:
        raise InvalidIdentifier("organisation code check digit does not match")
    return code


def mask_id_number(normalised: str) -> str:
    """Hide the middle of an ID number, never revealing more than half its characters."""
    n = len(normalised)
    keep = 4 if n >= 18 else 2 if n >= 8 else 1 if n >= 4 else 0
    if keep == 0:
        return "*" * n
    return normalised[:keep] + "*" * (n - 2 * keep) + normalised[-keep:]


_PHONE_SEPARATORS = re.compile(r"[\s\-‐‑‒–—().]")
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_HK_NUMBER = re.compile(r"[235-9][0-9]{7}")
# Mainland area codes 010 and 02x have two digits after the trunk 0, all others three; this is
# what makes a landline typed without separators unambiguous.
_CN_LANDLINE = re.compile(r"(10|2[0-9]|[3-9][0-9]{2})([0-9]{7,8})")


def _clean_phone(value: str) -> str:
    return _PHONE_SEPARATORS.sub("", _fold(value))


def _parse_phone(cleaned: str) -> str | None:
    if m := re.fullmatch(r"(?:\+|00)852([0-9]+)", cleaned):
        return f"+852 {m[1]}" if _HK_NUMBER.fullmatch(m[1]) else None
    if m := re.fullmatch(r"(?:\+|00)86([0-9]+)", cleaned):
        national = m[1]
        if _CN_MOBILE.fullmatch(national):
            return f"+86 {national}"
        # People often keep the trunk 0 after +86 ("+86 (0)755 ..."); tolerate it.
        landline = _CN_LANDLINE.fullmatch(national.removeprefix("0"))
        return f"+86 {landline[1]} {landline[2]}" if landline else None
    if _CN_MOBILE.fullmatch(cleaned):
        return f"+86 {cleaned}"
    if _HK_NUMBER.fullmatch(cleaned):
        return f"+852 {cleaned}"
    if cleaned.startswith("0") and (landline := _CN_LANDLINE.fullmatch(cleaned[1:])):
        return f"+86 {landline[1]} {landline[2]}"
    return None


def normalise_phone(value: str) -> str:
    """Canonical "+86 13800138000" / "+852 91234567" / "+86 755 12345678" form.

    Unrecognised input comes back only stripped of separators, so legacy values stay searchable.
    """
    cleaned = _clean_phone(value)
    return _parse_phone(cleaned) or cleaned


def validate_phone(value: str) -> str:
    """Return the canonical form of a mainland mobile or landline, or a Hong Kong number.

    Raises: InvalidIdentifier.
    """
    parsed = _parse_phone(_clean_phone(value))
    if parsed is None:
        raise InvalidIdentifier("not a valid mainland or Hong Kong phone number")
    return parsed


def mask_phone(normalised: str) -> str:
    """Keep the country prefix; show 3+4 digits of a mainland mobile, else only the last 4."""
    if m := re.fullmatch(r"\+86 (1[0-9]{2})[0-9]{4}([0-9]{4})", normalised):
        return f"+86 {m[1]}****{m[2]}"
    prefix, rest = normalised.split(" ", 1) if normalised.startswith("+") else ("", normalised)
    hide = sum(c in "0123456789" for c in rest) - 4
    masked = []
    for c in rest:
        if c in "0123456789" and hide > 0:
            c, hide = "*", hide - 1
        masked.append(c)
    return f"{prefix} {''.join(masked)}" if prefix else "".join(masked)


_PLATE_DOTS = re.compile(r"[·•・･‧.\-]")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # GA 36-2018 letters: never I or O, which read as 1 and 0
_MAINLAND_PLATES = (
    ("ordinary", re.compile(rf"[{_PROVINCES}][{_L}][{_L}0-9]{{5}}")),
    ("new_energy_small", re.compile(rf"[{_PROVINCES}][{_L}][DF][{_L}0-9][0-9]{{4}}")),
    ("new_energy_large", re.compile(rf"[{_PROVINCES}][{_L}][0-9]{{5}}[DF]")),
    ("suffix", re.compile(rf"[{_PROVINCES}][{_L}][{_L}0-9]{{4}}[挂学警领]")),
    ("cross_border", re.compile(rf"粤Z[{_L}0-9]{{4}}[港澳]")),
    ("embassy", re.compile(r"使[0-9]{6}")),
)
# Later NEV series start with A, B, C, E, G, H, J, K; no official text confirms them yet.
_NEV_SMALL_EXTENDED = re.compile(rf"[{_PROVINCES}][{_L}][ABCDEFGHJK][{_L}0-9][0-9]{{4}}")
_HK_LETTER = "A-HJ-NPR-Z"  # HK marks never use I, O or Q
_HK_ORDINARY = re.compile(rf"(?:[{_HK_LETTER}]{{1,2}} ?)?[1-9][0-9]{{0,3}}")
_HK_PERSONALISED = re.compile(rf"(?=.{{1,8}}$)[{_HK_LETTER}0-9]+(?: [{_HK_LETTER}0-9]+)*")


def normalise_plate(value: str) -> str:
    """Drop spaces and middle dots, fold full-width characters and upper-case ASCII letters."""
    return re.sub(r"\s", "", _PLATE_DOTS.sub("", _fold(value)))


def classify_mainland_plate(plate: str, *, lenient: bool = False) -> str | None:
    """Kind of a normalised mainland plate (GA 36-2018), or None if it is not one.

    lenient=True also accepts the unconfirmed extended new-energy first letters.
    """
    for kind, pattern in _MAINLAND_PLATES:
        if pattern.fullmatch(plate):
            return kind
    if lenient and _NEV_SMALL_EXTENDED.fullmatch(plate):
        return "new_energy_small"
    return None


def _hk_form(value: str) -> str:
    # Keep one inner space where there was any: it counts towards a personalised mark's 8 chars.
    return re.sub(r"\s+", " ", _PLATE_DOTS.sub("", _fold(value))).strip()


def classify_hk_mark(plate: str) -> str | None:
    """Return "ordinary" or "personalised" for a Hong Kong registration mark, else None."""
    mark = _hk_form(plate)
    if _HK_ORDINARY.fullmatch(mark):
        return "ordinary"
    if _HK_PERSONALISED.fullmatch(mark):
        return "personalised"
    return None


def is_hk_mark(plate: str) -> bool:
    """True for an ordinary or personalised Hong Kong mark, with or without its spaces."""
    return classify_hk_mark(plate) is not None


def validate_hk_plate(value: str) -> str:
    """Return the normalised Hong Kong registration mark. Raises: InvalidIdentifier."""
    if not is_hk_mark(value):
        raise InvalidIdentifier("not a valid Hong Kong registration mark")
    return normalise_plate(value)


def validate_plate(value: str, *, lenient: bool = False) -> str:
    """Return the normalised mainland plate or Hong Kong mark. Raises: InvalidIdentifier."""
    plate = normalise_plate(value)
    if classify_mainland_plate(plate, lenient=lenient) or is_hk_mark(value):
        return plate
    raise InvalidIdentifier("not a valid licence plate")


def _container_letter_value(letter: str) -> int:
    # A=10 upwards, skipping 11, 22 and 33 because multiples of 11 weaken the mod-11 check.
    value = 10 + ord(letter) - ord("A")
    return value + (value - 1) // 10


def validate_container_no(value: str) -> str:
    """Return the normalised ISO 6346 container number if its check digit matches.

    Raises: InvalidIdentifier.
    """
    number = _ID_SEPARATORS.sub("", _fold(value))
    if not re.fullmatch(r"[A-Z]{3}[UJZ][0-9]{7}", number):
        raise InvalidIdentifier("unknown format")
    values = [_container_letter_value(c) for c in number[:4]] + [int(d) for d in number[4:10]]
    check = sum(v * 2**i for i, v in enumerate(values)) % 11 % 10
    if number[-1] != str(check):
        raise InvalidIdentifier("check digit does not match")
    return number

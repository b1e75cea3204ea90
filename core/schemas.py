"""Shared schema pieces: a field that runs a domain validator and keeps its normalised value."""
from typing import Callable

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate


MAX_ID = 2**31 - 1
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"} | {"\x7f"} | {chr(c) for c in range(0x80, 0xA0)}
# Direction overrides and isolates make a name display as something else ("moc.knab" shown as "bank.com");
# a byte-order mark and lone surrogates (JSON "\ud800") are never part of a name and cannot be stored.
_INVISIBLE = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C, 0xFEFF)}
_SURROGATES = range(0xD800, 0xE000)


class Text(fields.String):
    """A trimmed string without control characters (PostgreSQL cannot store NUL; none belong in names)."""

    def _deserialize(self, value, attr, data, **kwargs):
        # Stripped before the validators run, so "   " fails a minimum length like "" does.
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if any(ch in _CONTROL for ch in text):
            raise ValidationError("control characters are not allowed")
        if any(ch in _INVISIBLE or ord(ch) in _SURROGATES for ch in text):
            raise ValidationError("direction-override, byte-order-mark and surrogate characters are not allowed")
        return text


class Id(fields.Integer):
    """A database id: a positive 32-bit integer (larger values would overflow the column)."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class Normalised(Text):
    """A string checked and normalised by a pure function that raises ValueError with a clear message."""

    def __init__(self, normalise: Callable[[str], str], **kwargs):
        super().__init__(**kwargs)
        self._normalise = normalise

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self._normalise(text)
        except ValueError as e:
            raise ValidationError(str(e)) from e


class ReasonIn(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=500),
                           metadata={"description": "why; kept in the audit log"})


PAGING_PARAMETERS = frozenset({"page", "page_size"})


class QueryArgs(Schema):
    """Base for query-string filters. A parameter the schema does not declare is refused with a 422 naming
    it (a misspelt filter must not silently return everything); `page` and `page_size` are accepted
    unless `paged` is False, because smorest's paginate() reads them separately."""

    paged = True

    class Meta:
        unknown = RAISE

    @pre_load
    def _refuse_unknown_parameters(self, data, **kwargs):
        # webargs loads query strings with unknown=EXCLUDE whatever Meta says, so the check is made here.
        known = {field.data_key or name for name, field in self.load_fields.items()}
        if self.paged:
            known |= PAGING_PARAMETERS
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError({name: ["Unknown query parameter."] for name in unknown})
        return data


class OptionalReasonIn(Schema):
    reason = Text(validate=validate.Length(max=500), metadata={"description": "kept in the audit log"})

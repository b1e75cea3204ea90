"""Shared schema pieces: a field that runs a domain validator and keeps its normalised value."""
from typing import Callable

from marshmallow import EXCLUDE, Schema, ValidationError, fields


class Normalised(fields.String):
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
    reason = fields.String(required=True, validate=lambda s: 0 < len(s.strip()) <= 500,
                           metadata={"description": "why; kept in the audit log"})


class QueryArgs(Schema):
    """Base for query-string filters; paging parameters (page, page_size) are read separately."""

    class Meta:
        unknown = EXCLUDE


class OptionalReasonIn(Schema):
    reason = fields.String(validate=lambda s: len(s) <= 500, metadata={"description": "kept in the audit log"})

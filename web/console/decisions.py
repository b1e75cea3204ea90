"""What the console's decision pages share: the reason a regulator gives, checked like the API checks it,
and the names of the white list's states in the reader's language."""
from flask import request
from marshmallow import Schema, ValidationError, validate

from core.schemas import Text
from web.i18n import _l
from web.portal.messages import translate_fields
from whitelist.models import EntryStatus, FirmStatus

REASON_MAX = 500


class ReasonIn(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=REASON_MAX))


def posted_reason(*, required: bool = True) -> tuple[str, str | None, dict]:
    """(the reason as typed, the checked reason or None, errors beside the field) of the posted form."""
    typed = request.form.get("reason", "")[:REASON_MAX * 4]
    if not typed.strip() and not required:
        return typed, None, {}
    try:
        return typed, ReasonIn().load({"reason": typed})["reason"], {}
    except ValidationError as e:
        return typed, None, translate_fields(e.messages)


FIRM_STATUS_NAMES = {FirmStatus.PENDING: _l("待审核"), FirmStatus.APPROVED: _l("已列入白名单"),
                     FirmStatus.SUSPENDED: _l("已暂停"), FirmStatus.REJECTED: _l("未通过"),
                     FirmStatus.REVOKED: _l("已撤销")}
ENTRY_STATUS_NAMES = {EntryStatus.ACTIVE: _l("有效"), EntryStatus.SUSPENDED: _l("已暂停")}

"""The services and schemas answer in English (the API's language); a person reads the portal in theirs.
This maps each known message (exactly, or by pattern with its numbers kept) to translated text; an
unknown message is shown as it is rather than hidden."""
import re

from core.accounts import UsernameTaken
from core.errors import AppError, Unprocessable
from web.i18n import _l
from whitelist.errors import DuplicateCreditCode, DuplicatePerson, DuplicatePlate

EXACT = {
    "Missing data for required field.": _l("此项必填。"),
    "Field may not be null.": _l("此项必填。"),
    "Not a valid string.": _l("格式不正确。"),
    "Invalid value.": _l("格式不正确。"),
    "control characters are not allowed": _l("不能包含控制字符。"),
    "unknown identifier type": _l("证件类型不正确。"),
    "unknown format": _l("号码格式不正确，请核对。"),
    "15-digit numbers are no longer accepted; use the 18-digit number": _l("15 位身份证号已停用，请填写 18 位号码。"),
    "check digit does not match": _l("校验位不符，请核对号码。"),
    "not a valid date of birth": _l("号码中的出生日期不正确。"),
    "must be 18 characters": _l("统一社会信用代码须为 18 位。"),
    "contains a character that is not allowed": _l("含有不允许的字符。"),
    "check character does not match": _l("校验码不符，请核对。"),
    "organisation code check digit does not match": _l("组织机构代码的校验位不符，请核对。"),
    "not a valid mainland or Hong Kong phone number": _l("不是有效的内地或香港电话号码。"),
    "not a valid Hong Kong registration mark": _l("不是有效的香港车牌。"),
    "not a valid licence plate": _l("不是有效的车牌号码。"),
    "a cross-border (粤Z…港/澳) vehicle also needs its Hong Kong mark": _l("跨境车辆（粤Z…港/澳）还须填写香港车牌。"),
    "use 3-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit":
        _l("用户名须为 3 到 64 个英文字母、数字或 . _ @ -，以字母或数字开头。"),
    "must not be the user name": _l("密码不能与用户名相同。"),
    "give a user name with the password": _l("请填写用户名。"),
    "give a password with the user name": _l("请填写密码。"),
    "give name or phone": _l("请填写要修改的内容。"),
    "missing column": _l("文件缺少这一列。"),
    "more values than columns": _l("这一行的值比标题行的列多。"),
    "the file has no data rows": _l("文件里没有数据行。"),
    "already on the firm's list": _l("此人已在本单位名单上。"),
    "added concurrently": _l("导入期间有人添加了同一人员，请重新导入。"),
    "already registered": _l("此车牌已登记。"),
    "a firm is registered in a district or a street": _l("请选择一个区或街道。"),
}
PATTERNS = [
    (re.compile(r"Must be one of: .*"), _l("请从列表中选择。")),
    (re.compile(r"Length must be between 1 and (?P<max>\d+)\."), _l("最多 %(max)s 个字符。")),  # blank is "required"
    (re.compile(r"Length must be between (?P<min>\d+) and (?P<max>\d+)\."), _l("长度须为 %(min)s 到 %(max)s 个字符。")),
    (re.compile(r"Longer than maximum length (?P<max>\d+)\."), _l("最多 %(max)s 个字符。")),
    (re.compile(r"Shorter than minimum length (?P<min>\d+)\."), _l("至少 %(min)s 个字符。")),
    (re.compile(r"use at least (?P<n>\d+) characters"), _l("密码至少 %(n)s 个字符。")),
    (re.compile(r"use at most (?P<n>\d+) characters"), _l("密码最多 %(n)s 个字符。")),
    (re.compile(r"the file is not UTF-8 \(byte (?P<byte>\d+)\)"),
     _l("文件不是 UTF-8 编码（第 %(byte)s 字节）。请在表格软件中另存为“CSV UTF-8”。")),
    (re.compile(r"unreadable CSV: .*"), _l("无法读取此 CSV 文件。")),
    (re.compile(r"same person as line (?P<line>\d+)"), _l("与第 %(line)s 行是同一人。")),
    (re.compile(r"same vehicle as line (?P<line>\d+)"), _l("与第 %(line)s 行是同一辆车。")),
    (re.compile(r"unknown area code .*"), _l("没有这个区域，请从列表中选择。")),
]
# Conflicts a service raises about one field of a form.
CONFLICT_FIELDS = {
    DuplicatePerson: ("id_number", _l("此人已在本单位名单上。")),
    DuplicatePlate: ("plate", _l("此车牌已登记。")),
    DuplicateCreditCode: ("uscc", _l("此统一社会信用代码已登记。")),
    UsernameTaken: ("username", _l("此用户名已被使用，请换一个。")),
}


def translate(message) -> str:
    """The person's-language text of one service or schema message."""
    text = str(message)
    if text in EXACT:
        return str(EXACT[text])
    for pattern, translated in PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return str(translated) % match.groupdict() if match.groupdict() else str(translated)
    return text


def translate_fields(messages: dict) -> dict[str, str]:
    """marshmallow's {field: [message, ...]} (nested or not) → {field: translated first message}."""
    flat = {}
    for name, value in (messages or {}).items():
        while isinstance(value, (list, dict)) and value:
            value = value[0] if isinstance(value, list) else next(iter(value.values()))
        flat[str(name)] = translate(value)
    return flat


def field_of_error(error: AppError) -> dict[str, str] | None:
    """A service's refusal shown beside a field ({field: text}), or None when it is not about one field."""
    for kind, (name, text) in CONFLICT_FIELDS.items():
        if isinstance(error, kind):
            return {name: str(text)}
    if isinstance(error, Unprocessable) and isinstance(error.fields, dict) and error.fields:
        return translate_fields(error.fields)
    return None

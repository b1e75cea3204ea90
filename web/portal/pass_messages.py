"""What a person reads for the pass services' and schemas' messages: the API answers in English words for
programs; the pages show the same finding in the user's language. Pure: a message in, a text out."""
import re

from web.i18n import _l

# (pattern of the English message, Chinese source text with the pattern's named groups). The first match
# wins; a message no pattern knows is shown as it is (better an English sentence than nothing).
_PATTERNS = [
    (r"Missing data for required field\.", _l("必填。")),
    (r"Field may not be null\.", _l("必填。")),
    (r"Not a valid integer\.", _l("请从列表中选择。")),
    (r"Not a valid (aware )?datetime\.", _l("请填写日期和时间，例如 2026-03-14T08:00+08:00。")),
    (r"Not a valid (string|list)\.", _l("格式不正确。")),
    (r"Must be one of: .*", _l("不是可选的值。")),
    (r"Must be greater than or equal to .*", _l("请从列表中选择。")),
    (r"Length must be between 1 and (?P<max>\d+)\.", _l("请填写，最多 %(max)s 个字符。")),
    (r"Unknown field\.", _l("不认识的字段。")),
    (r"control characters are not allowed", _l("不能包含控制字符。")),
    (r"an area code has 6 or 9 digits", _l("区域代码是 6 位或 9 位数字。")),
    (r"a driver is listed twice", _l("同一司机选了两次。")),
    (r"between 1 and 4 drivers", _l("填 1 至 4 名司机。")),
    (r"between 1 and 20 area codes", _l("填 1 至 20 个区域代码。")),
    (r"must be after valid_from", _l("结束时间须晚于开始时间。")),
    (r"the window is already over", _l("有效期已经结束，请选择将来的时间。")),
    (r"a pass lasts at most (?P<days>\d+) days", _l("通行证有效期最长 %(days)s 天。")),
    (r"unknown area code (?P<code>.*)", _l("没有这个区域代码：%(code)s。")),
    (r"not a vehicle of this firm", _l("不是本单位的车辆。")),
    (r"the vehicle is suspended", _l("该车辆已被暂停，不能申请通行证。")),
    (r"(?P<id>\d+): not a person of this firm", _l("所选人员（编号 %(id)s）不属于本单位。")),
    (r"(?P<id>\d+): suspended", _l("所选司机（编号 %(id)s）已被暂停。")),
    (r"(?P<id>\d+): the latest health test result is positive", _l("所选司机（编号 %(id)s）最近一次检测结果为阳性。")),
    (r"firm is (pending|suspended)", _l("本单位尚未通过白名单审核或已被暂停，暂时不能申请通行证。")),
    (r"pass (?P<id>\w+) already covers this vehicle in an overlapping window",
     _l("该车辆在这段时间已有通行证（%(id)s），有效期不能重叠。")),
    (r"overlaps row (?P<row>\d+) of this batch.*", _l("与本文件第 %(row)s 行是同一车辆，有效期重叠。")),
    (r"crossing_site_id is not an active crossing", _l("所选口岸不存在或已停用。")),
    (r"yard_site_id is not an active relay yard", _l("所选接驳场站不存在或已停用。")),
    (r"no vehicle of this firm has this plate", _l("本单位没有这个车牌的车辆。")),
    (r"identity number (?P<n>\d+) is not on the firm's list", _l("第 %(n)s 个证件号码不在本单位的人员名单中。")),
    (r"identity number (?P<n>\d+) repeats a driver", _l("第 %(n)s 个证件号码与前面的司机重复。")),
    (r"missing column", _l("缺少这一列。")),
    (r"more values than columns", _l("这一行的值比列多（内容里有逗号时请加英文双引号）。")),
    (r"unreadable CSV: .*", _l("无法读取的 CSV 内容。")),
    (r"the file has no data rows", _l("文件里没有数据行。")),
    (r"the file is not UTF-8.*", _l("文件不是 UTF-8 编码，请用“CSV UTF-8”格式另存后再上传。")),
]
_COMPILED = [(re.compile(pattern), text) for pattern, text in _PATTERNS]


def message_text(message: str) -> str:
    """The user's-language text for one English service or schema message."""
    for pattern, text in _COMPILED:
        match = pattern.fullmatch(str(message).strip())
        if match:
            groups = match.groupdict()
            return str(text) % groups if groups else str(text)
    return str(message)


# A list's length is counted in choices, not characters.
_LIST_LENGTH = {"driver_ids": _l("请选择 1 至 4 名司机。"), "scope": _l("请选择 1 至 20 个通行区域。")}


def field_texts(messages) -> dict[str, str]:
    """{field: text} from marshmallow messages or a service error's `fields`: the first message of each
    field (nested ones such as route.yard_site_id or driver_ids.0 under their top field), translated."""
    texts = {}
    for name, value in (messages or {}).items():
        while isinstance(value, (list, dict)) and value:
            value = value[0] if isinstance(value, list) else next(iter(value.values()))
        if name in _LIST_LENGTH and str(value).startswith("Length must be"):
            texts[str(name)] = str(_LIST_LENGTH[name])
        else:
            texts[str(name)] = message_text(value)
    return texts

"""What the console's reading pages (alerts, tracing, audit) share: Beijing time in and out, page numbers
that refuse nonsense, areas by name, and form input loaded through a schema with errors in the reader's
language."""
from datetime import datetime, timedelta, timezone

from flask import render_template
from marshmallow import Schema, ValidationError, fields

from web.console import areas
from web.i18n import _, current_language
from web.portal.messages import translate_fields

CHINA_TIME = timezone(timedelta(hours=8))  # every time a person reads or types here is Beijing time
PAGE_SIZE = 25
MAX_PAGE = 10_000
LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


class LocalTime(fields.Field):
    """A Beijing time as a datetime-local input sends it (2026-03-14T08:00), or a plain date (its midnight);
    loaded as an aware datetime. Years outside 2000–2099 are refused (no one traces them; nothing overflows)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        for layout in LOCAL_FORMATS:
            try:
                parsed = datetime.strptime(text, layout)
            except ValueError:
                continue
            if not 2000 <= parsed.year <= 2099:
                break
            return parsed.replace(tzinfo=CHINA_TIME)
        raise ValidationError(_("请按“年-月-日 时:分”填写北京时间，例如 2026-03-14 08:00。"))


def form_errors(schema: Schema, values: dict) -> tuple[dict, dict]:
    """(loaded data, {field: message}) for a search form; blank fields are left out."""
    try:
        return schema.load({k: v for k, v in values.items() if v and v.strip()}), {}
    except ValidationError as e:
        errors = translate_fields(e.messages)
    for name in errors:
        if name == "page":
            errors[name] = _("页码须在 1 到 %(max)s 之间。", max=MAX_PAGE)
        elif name in ("site", "yard", "kind", "area", "object_type", "object_id", "id_type"):
            errors[name] = _("请从列表中选择。") if name != "object_id" else _("请填写正确的编号。")
    return {}, errors


def local_time(instant: datetime | None, *, seconds: bool = False) -> str:
    """'2026-03-14 16:00' in Beijing time, 24 h (with seconds for scan times)."""
    if instant is None:
        return ""
    return instant.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def area_label(code: str) -> str:
    """An area in the reader's language; a street with its district."""
    tree = areas()
    area = tree.get(code)
    if area is None:
        return code
    zh = current_language() == "zh"
    parent = tree.get(area.parent_code) if area.parent_code else None
    name = area.name_zh if zh else area.name_en
    if parent is None or parent.level.value == "city":
        return name
    return f"{parent.name_zh}{name}" if zh else f"{name}, {parent.name_en}"


def area_choices(root: str | None) -> list[tuple[str, str]]:
    """The districts and streets a reader may filter by (root: its own area; None: the whole city)."""
    tree = areas()
    codes = tree.descendants(root) if root else list(tree.by_code)
    return [(code, area_label(code)) for code in sorted(codes)]


def page_count(total: int) -> int:
    return (total + PAGE_SIZE - 1) // PAGE_SIZE


def results_page(template: str, context: dict, results: tuple[list, int] | None = None):
    """A list or search page: with `errors` in the context, the form again beside them (422); else the
    results (rows, total) when a search ran, where a page past the last is an error too."""
    if context.get("errors"):
        return render_template(template, **context), 422
    if results is not None:
        rows, total = results
        context.update(searched=True, rows=rows, total=total, pages=page_count(total))
        if context["page"] > max(context["pages"], 1):
            context["errors"] = {"page": _("没有第 %(page)s 页，共 %(pages)s 页。", page=context["page"],
                                             pages=context["pages"])}
            return render_template(template, **context), 422
    return render_template(template, **context)

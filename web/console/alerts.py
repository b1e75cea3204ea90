"""The alerts inbox: suspected clones, seal mismatches, overdue returns and held loads in the reader's area,
open or acknowledged, by kind and area, each with the way to its pass, scans or handover. Acknowledging
goes through checkpoints.alerts.acknowledge_alert (audited, regulators in their area and admins only)."""
from datetime import datetime

from flask import flash, redirect, request, url_for
from marshmallow import Schema, fields, validate

from checkpoints import alerts as alert_service
from checkpoints.models import Alert, AlertKind
from checkpoints.trace import visible_sites
from core.accounts import Role
from core.clock import utcnow
from core.db import Page
from core.schemas import Text
from web.auth import current_user
from web.console import actor, areas, bp, console_page, db, deciding_page
from web.console.reading import (MAX_PAGE, PAGE_SIZE, area_choices, area_label, form_errors, local_time,
                                 results_page)
from web.i18n import _, _l

KIND_NAMES = {AlertKind.CLONE_SUSPECTED: _l("疑似克隆通行证"), AlertKind.SEAL_MISMATCH: _l("封条不符"),
              AlertKind.RETURN_OVERDUE: _l("司机逾期未返回"), AlertKind.LOAD_HELD: _l("货物被扣留"),
              AlertKind.POSITIVE_TEST: _l("司机检测阳性")}
MAX_PASS_LINKS = 3  # links to the scans of a positive driver's passes (all of them are named in the facts)
STATES = ("open", "acknowledged")


class AlertFilterForm(Schema):
    state = fields.String(load_default="open", validate=validate.OneOf(STATES))
    kind = fields.Enum(AlertKind, by_value=True)
    area = Text(validate=validate.Length(max=12))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))


@bp.get("/alerts")
@console_page
def alerts():
    """Open alerts first (the tab a person lands on), newest first."""
    kept = {name: request.args.get(name, "")[:40] for name in ("state", "kind", "area", "page")}
    data, errors = form_errors(AlertFilterForm(), kept)
    root = _own_area()
    choices = area_choices(root)
    if not errors and data.get("area") and data["area"] not in dict(choices):
        errors = {"area": _("请从列表中选择。")}
    session, reader = db(), actor()
    counts = alert_service.count_open_alerts(session, actor=reader, areas=areas())
    kind_options = [(kind.value, _("%(kind)s（待处理 %(n)s）", kind=name, n=counts[kind])) for kind, name in KIND_NAMES.items()]
    context = {"form": kept, "errors": errors, "kind_options": kind_options, "areas_list": choices,
               "open_total": sum(counts.values()), "state": data.get("state", "open"), "rows": [], "total": 0,
               "page": data.get("page", 1), "pages": 0}
    results = None
    if not errors:
        items, total = alert_service.list_alerts(session, actor=reader, areas=areas(), kind=data.get("kind"),
                                                 open_only=data["state"] == "open",
                                                 acknowledged_only=data["state"] == "acknowledged",
                                                 area=data.get("area"), page=Page(data["page"], PAGE_SIZE))
        results = _rows(items), total
    return results_page("console/alerts.html", context, results)


@bp.post("/alerts/<int(max=2147483647):alert_id>/acknowledge")
@deciding_page
def acknowledge_alert(alert_id):
    """Mark one alert as seen and dealt with (audited); back to the list it was acknowledged from."""
    alert = alert_service.acknowledge_alert(db(), alert_id, actor=actor(), areas=areas(), now=utcnow())
    flash(_("已确认预警：%(kind)s。", kind=KIND_NAMES[alert.kind]), "success")
    back = {k: v for k, v in request.form.items() if k in ("kind", "area", "page") and v and len(v) <= 12}
    return redirect(url_for("console.alerts", **back), code=303)


def _own_area() -> str | None:
    account = current_user().account
    return account.area_code if account.role is Role.REGULATOR else None


def _rows(items: list[Alert]) -> list[dict]:
    sites = {s.id: s.name for s in visible_sites(db(), actor=actor(), areas=areas())}
    return [{"id": a.id, "kind": a.kind.value, "kind_name": KIND_NAMES[a.kind], "raised_at": local_time(a.raised_at),
             "area": area_label(a.area_code), "subject_type": a.subject_type, "subject_id": a.subject_id,
             "facts": _facts(a, sites), "links": _links(a),
             "acknowledged_at": local_time(a.acknowledged_at), "acknowledged_by": a.acknowledged_by}
            for a in items]


def _facts(alert: Alert, sites: dict[int, str]) -> list[tuple[str, str]]:
    """What the alert says, as (label, text) pairs a person reads at a glance."""
    details = alert.details or {}
    facts = []
    if alert.kind is AlertKind.CLONE_SUSPECTED:
        named = [sites.get(site_id, f"#{site_id}") for site_id in details.get("sites", [])]
        facts.append((_("同一通行证几乎同时出现在"), "、".join(named)))
    elif alert.kind is AlertKind.SEAL_MISMATCH:
        facts.append((_("登记的封条"), " ".join(map(str, details.get("expected", [])))))
        facts.append((_("现场看到的封条"), " ".join(map(str, details.get("seen", []))) or _("无")))
    elif alert.kind is AlertKind.RETURN_OVERDUE and details.get("due"):
        facts.append((_("应返回时间"), _due(details["due"])))
    elif alert.kind is AlertKind.POSITIVE_TEST:
        facts.append((_("已暂停的通行证"), " ".join(details.get("passes_suspended", [])) or _("无")))
    return facts


def _due(value: str) -> str:
    try:
        return local_time(datetime.fromisoformat(value))
    except ValueError:
        return value


def _links(alert: Alert) -> list[tuple[str, str]]:
    """(text, url) ways to what the alert is about: the pass's scans and history, or the handover's."""
    if alert.subject_type == "pass":
        return [(_("查看该通行证的扫码记录"), url_for("console.trace", pass_id=alert.subject_id)),
                (_("通行证操作记录"), url_for("console.audit_trail", object_type="pass", object_id=alert.subject_id))]
    if alert.subject_type == "person":
        passes = (alert.details or {}).get("passes_suspended", [])[:MAX_PASS_LINKS]
        return [(_("通行证 %(id)s 的扫码记录", id=pass_id), url_for("console.trace", pass_id=pass_id))
                for pass_id in passes] + [(_("人员操作记录"), url_for("console.audit_trail", object_type="person",
                                                                  object_id=alert.subject_id))]
    if alert.subject_type == "handover":
        return [(_("交接单操作记录"), url_for("console.audit_trail", object_type="handover",
                                        object_id=alert.subject_id))]
    return []

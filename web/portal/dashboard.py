"""The portal's first page: the firm's white-list status and what needs doing."""
from datetime import datetime, timedelta, timezone

from flask import current_app, render_template, url_for

from core.clock import utcnow
from logistics.alerts import list_firm_alerts
from passes.models import PassStatus
from passes.overview import count_firm_passes, list_expiring_passes
from web.i18n import _l
from web.portal import actor, areas, bp, db, firm_id, firm_page
from web.portal.names import ENTRY_STATUS_NAMES
from whitelist import overview
from whitelist import services as whitelist_services

EXPIRING_WITHIN = timedelta(hours=24)
BEIJING = timezone(timedelta(hours=8), "CST")
PASS_STATUS_NAMES = {PassStatus.PENDING: _l("待审批"), PassStatus.ACTIVE: _l("有效"), PassStatus.SUSPENDED: _l("已暂停"),
                     PassStatus.REJECTED: _l("未批准"), PassStatus.REVOKED: _l("已吊销"), PassStatus.EXPIRED: _l("已过期")}
ALERT_NAMES = {"clone_suspected": _l("疑似套用通行证：同一张通行证在两处几乎同时被扫描"),
               "seal_mismatch": _l("封条不符：货物被扣留在接驳场站"),
               "return_overdue": _l("入境司机未按时返回口岸"),
               "load_held": _l("货物被扣留")}
NEXT_STEPS = {"pending": _l("主管部门审核期间，可以先登记人员和车辆。审核通过后即可申请通行证。"),
              "suspended": _l("名单已冻结，通行证已停用。请联系所在区的主管部门，处理后由其恢复。")}


@bp.get("/")
@firm_page
def dashboard():
    """The firm's status on the white list, its counts, passes running out soon and open alerts."""
    session, now = db(), utcnow()
    firm = whitelist_services.get_firm(session, firm_id(), actor=actor(), areas=areas())
    context = dict(
        firm=firm, reason=overview.status_reason(session, firm), next_step=NEXT_STEPS.get(firm.status.value),
        entries=overview.count_entries(session, firm.id, actor=actor(), areas=areas()),
        passes=count_firm_passes(session, actor=actor(), now=now),
        expiring=list_expiring_passes(session, actor=actor(), now=now, within=EXPIRING_WITHIN),
        alerts=list_firm_alerts(session, actor=actor()),
        apply_url=_apply_pass_url(), entry_names=ENTRY_STATUS_NAMES, pass_names=PASS_STATUS_NAMES, alert_names=ALERT_NAMES)
    return render_template("portal/dashboard.html", **context)


def _apply_pass_url() -> str | None:
    """The pass application page (helper pages may name it either way), else the pass list, else None."""
    for endpoint in ("portal.new_pass", "portal.apply_pass", "portal.passes"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return None


@bp.app_template_filter("beijing_time")
def beijing_time(value: datetime) -> str:
    """A stored UTC instant as Beijing time, 24-hour clock (what a dispatcher in Shenzhen reads)."""
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")

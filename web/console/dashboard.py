"""The console's charts, /console/dashboard: an area's passes per day, scans per hour and why they were
rejected, relay-yard occupancy and dwell, and how long applications have waited. The figures come from
the domain packages' stats functions; this module only names them in the page's language and draws them
(web/console/charts.py), each beside a table of the same numbers."""
from flask import render_template, request
from werkzeug.exceptions import BadRequest

from checkpoints.stats import WINDOWS, hourly_scans
from core.accounts import Role
from core.areas import CITY_CODE
from core.clock import utcnow
from core.timebuckets import BEIJING
from logistics.stats import yard_figures
from passes.stats import daily_passes, passes_by_sub_area, pending_ages, sub_areas
from web.console import actor, areas, bp, console_page, db
from web.console.charts import Series, bar_rows, column_chart
from web.i18n import _, _l, current_language
from web.scan import REASON_TEXTS

AGE_NAMES = (_l("不到 1 小时"), _l("1–4 小时"), _l("4–12 小时"), _l("12–24 小时"), _l("1–3 天"), _l("3 天以上"))


@bp.get("/dashboard")
@console_page
def dashboard():
    """One area's figures (the regulator's own area by default; admins and auditors start at the city)."""
    who, tree, session, now = actor(), areas(), db(), utcnow()
    root = who.area_code if who.role is Role.REGULATOR and who.area_code else CITY_CODE
    area = request.args.get("area", root).strip()
    hours = request.args.get("hours", str(WINDOWS[0]))
    if not hours.isdigit() or int(hours) not in WINDOWS:
        raise BadRequest()
    hours = int(hours)
    scope = dict(area=area, actor=who, areas=tree, now=now)
    daily = daily_passes(session, **scope)  # first: raises NotFound or Forbidden for an area not to be shown
    by_area = passes_by_sub_area(session, **scope)
    scans = hourly_scans(session, hours=hours, **scope)
    yards = yard_figures(session, **scope)
    ages = pending_ages(session, **scope)
    return render_template(
        "console/dashboard.html", section="console.dashboard", area=area, area_name=area_name(area), area_names=area_name,
        area_options=area_options(root), hours=hours, windows=WINDOWS, now=now.astimezone(BEIJING),
        daily=daily, daily_chart=_daily_chart(daily), by_area=by_area, by_area_chart=_by_area_chart(by_area),
        scans=scans, scan_chart=_scan_chart(scans), reason_rows=_reason_rows(scans),
        reason_chart=_reason_chart(scans), yards=yards, yard_charts=_yard_charts(yards),
        ages=ages, age_names=AGE_NAMES, age_chart=_age_chart(ages))


def area_name(code: str | None) -> str:
    record = areas().get(code) if code else None
    if record is None:
        return _("整个区域及更大范围")
    return record.name_zh if current_language() == "zh" else record.name_en


def area_options(root: str) -> list[tuple[str, str]]:
    """The areas a person may pick: their root area, each area below it and, indented, the areas below those."""
    tree = areas()
    options = [(root, area_name(root))]
    for child in sub_areas(root, tree):
        options.append((child, area_name(child)))
        options += [(code, "　· " + area_name(code)) for code in sub_areas(child, tree)]
    return options


def _daily_chart(daily):
    if not any(daily.issued + daily.rejected + daily.pending):
        return None
    return column_chart("chart-daily", title=_("每日签发、驳回的通行证和当日结束时待审批的数量"),
                        categories=[d[5:] for d in daily.days], label_every=3,
                        series=[Series(_("签发"), daily.issued, "good"), Series(_("驳回"), daily.rejected, "bad")],
                        line=Series(_("待审批"), daily.pending, "wait"))


def _by_area_chart(rows):
    if not any(r.issued + r.rejected + r.pending for r in rows):
        return None
    return bar_rows("chart-areas", title=_("各下级区域的通行证"), stacked=True,
                    labels=[area_name(r.code) for r in rows],
                    series=[Series(_("签发"), [r.issued for r in rows], "good"),
                            Series(_("驳回"), [r.rejected for r in rows], "bad"),
                            Series(_("待审批"), [r.pending for r in rows], "wait")])


def _scan_chart(scans):
    if not scans.total:
        return None
    every = 3 if len(scans.hours) <= 24 else 6
    return column_chart("chart-scans", title=_("每小时扫码次数，其中被拒绝的次数"),
                        categories=[h.strftime("%H") for h in scans.hours], label_every=every,
                        series=[Series(_("通过"), [s - r for s, r in zip(scans.scans, scans.rejected)], "good"),
                                Series(_("拒绝"), scans.rejected, "bad")])


def _reason_rows(scans) -> list[tuple[str, int, float]]:
    """(reason in words, rejected scans giving it, share of all scans)."""
    return [(str(REASON_TEXTS.get(code, code)), n, n / scans.total) for code, n in scans.reasons.items()]


def _reason_chart(scans):
    rows = _reason_rows(scans)
    if not rows:
        return None
    return bar_rows("chart-reasons", title=_("拒绝原因（占全部扫码的比例）"), labels=[r[0] for r in rows],
                    series=[Series(_("拒绝"), [r[1] for r in rows], "bad")],
                    value_text=lambda i: f"{rows[i][1]} ({rows[i][2]:.1%})")


def _yard_charts(yards):
    if not yards:
        return None
    def fill(i):
        y = yards[i]
        return f"{y.occupancy}/{y.capacity}" if y.capacity else str(y.occupancy)
    occupancy = bar_rows("chart-yards", title=_("各接驳场站当前在场货物与容量"), labels=[y.name for y in yards],
                         series=[Series(_("在场"), [y.occupancy_ratio or 0 for y in yards], "info")],
                         value_text=fill, top_value=max([1.0, *(y.occupancy_ratio or 0 for y in yards)]))
    timed = [y for y in yards if y.dwell_count]
    dwell = None
    if timed:
        dwell = bar_rows("chart-dwell", title=_("各接驳场站货物停留时间（分钟）：中位数和第 90 百分位"),
                         labels=[y.name for y in timed],
                         series=[Series(_("中位数"), [y.dwell_median for y in timed], "info"),
                                 Series(_("第 90 百分位"), [y.dwell_p90 for y in timed], "plain")])
    return occupancy, dwell


def _age_chart(ages):
    if not any(ages.passes + ages.firms):
        return None
    return bar_rows("chart-ages", title=_("待审批申请已等候的时长"), labels=[str(n) for n in AGE_NAMES], stacked=True,
                    series=[Series(_("通行证申请"), ages.passes, "wait"), Series(_("企业申请"), ages.firms, "info")])

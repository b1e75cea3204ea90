"""The console's risk zones: Shenzhen's districts and streets with their risk levels (colour and word),
each area's history, and setting a level with a reason after seeing how many active passes and which
sites it touches. Regulators set levels inside their own area, admins anywhere; auditors read."""
from flask import abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from checkpoints import services as checkpoint_services
from checkpoints import zones as risk_zones
from checkpoints.schemas import RiskIn
from core.areas import AreaLevel
from core.clock import utcnow
from core.permissions import regulates
from passes.policy import RiskLevel
from web.console import actor, areas, bp, can_decide, console_page, db, deciding_page
from web.console.firms import area_name
from web.i18n import _, _l
from web.portal.messages import translate_fields

LEVEL_NAMES = {RiskLevel.SEALED: _l("封控区"), RiskLevel.CONTROLLED: _l("管控区"),
               RiskLevel.PRECAUTION: _l("防范区"), RiskLevel.NORMAL: _l("常态")}
AREA_CODE = "<string(maxlength=12):code>"
LABELS = {level.label for level in RiskLevel}


@bp.get("/zones")
@console_page
def zones():
    """Districts with their streets, each with its own and its effective level (the strictest above it)."""
    risks = risk_zones.current_risks(db())
    tree, city = [], None
    for record in areas().by_code.values():
        if record.level is AreaLevel.CITY:
            city = record
        elif record.level is AreaLevel.DISTRICT:
            streets = sorted((r for r in areas().by_code.values() if r.parent_code == record.code), key=lambda r: r.code)
            tree.append((record, streets))
    tree.sort(key=lambda item: item[0].code)
    # A district opens when any area in it is not normal, or when it lies in the regulator's own area.
    open_districts = {d.code for d, streets in tree if any(c in risks for c in [d.code, *(s.code for s in streets)])
                      or (actor().area_code and areas().contains(d.code, actor().area_code))}
    return render_template("console/zones.html", section="console.zones", city=city, tree=tree,
                           open_districts=open_districts,
                           **_level_context(risks))


@bp.get(f"/zones/{AREA_CODE}")
@console_page
def zone(code):
    """One area: its level, its history, and (for those who may set it) the level buttons. With ?level=
    the effect of that level is shown with a reason field and the confirm button."""
    return _zone_page(code, request.args.get("level", ""), "", {})


@bp.post(f"/zones/{AREA_CODE}")
@deciding_page
def set_zone_level(code):
    """Set the level once confirmed with a reason; a missing reason or level shows the page again, unchanged."""
    if code not in areas():
        abort(404)
    typed = {"level": request.form.get("level", "")[:32], "reason": request.form.get("reason", "")[:2000]}
    try:
        data = RiskIn().load(typed)
    except ValidationError as e:
        return _zone_page(code, typed["level"], typed["reason"], translate_fields(e.messages))
    level = RiskLevel.parse(data["level"])
    checkpoint_services.set_area_risk(db(), code, level=level, reason=data["reason"], actor=actor(), areas=areas(),
                                      now=utcnow())
    flash(_("已设置：%(area)s 为 %(level)s", area=area_name(code), level=LEVEL_NAMES[level]), "success")
    return redirect(url_for("console.zone", code=code), code=303)


def _zone_page(code: str, chosen: str, reason: str, errors: dict):
    if code not in areas():
        abort(404)
    may_set = can_decide() and regulates(actor(), code, areas())
    level = RiskLevel.parse(chosen) if chosen in LABELS else None
    effect = risk_zones.risk_effect(db(), code, areas=areas(), now=utcnow()) if level is not None and may_set else None
    html = render_template("console/zone.html", section="console.zones", area=areas().get(code),
                           path=areas().path(code), history=checkpoint_services.risk_history(db(), code),
                           may_set=may_set, level=level, effect=effect, reason=reason, errors=errors,
                           **_level_context(risk_zones.current_risks(db())))
    return html, 422 if errors else 200


def _level_context(risks: dict) -> dict:
    def own(code: str) -> RiskLevel:
        return RiskLevel(risks[code].level) if code in risks else RiskLevel.NORMAL

    def strictest_inside(code: str) -> RiskLevel:
        return max(risk_zones.effective_level(c, risks, areas()) for c in areas().descendants(code))

    return {"own_level": own, "effective_level": lambda code: risk_zones.effective_level(code, risks, areas()),
            "strictest_inside": strictest_inside,
            "level_names": LEVEL_NAMES, "levels": sorted(RiskLevel, reverse=True), "area_name": area_name,
            "level_of": RiskLevel}

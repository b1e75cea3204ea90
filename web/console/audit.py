"""The audit trail in the console: one object's entries (firm, pass, person, vehicle, handover...), scoped as
the API scopes GET /audit (core.audit_areas: a regulator reads only what lies in its area), and the chain
check, which runs the very check of `flask --app wsgi audit verify` (core.audit.check_chain). Read-only:
the CLI's check is not audited, so neither is this one."""
import json

from flask import current_app, redirect, render_template, request, url_for
from marshmallow import Schema, fields, validate

from core import audit, audit_areas
from core.db import Page
from core.errors import NotFound
from core.schemas import Text
from web.auth import ROLE_NAMES
from web.console import actor, areas, bp, console_page, db
from web.console.reading import MAX_PAGE, PAGE_SIZE, form_errors, local_time, page_count
from web.i18n import _, _l

OBJECT_TYPES = {"firm": _l("企业"), "pass": _l("车辆通行证"), "person": _l("登记人员"), "vehicle": _l("登记车辆"),
                "handover": _l("交接单"), "alert": _l("预警"), "site": _l("站点")}
CHAIN_PROBLEMS = {"missing": _l("缺少一条记录（被删除）"), "link": _l("与上一条记录的链接断开"),
                  "content": _l("内容与其哈希不符（被改动）"), "truncated": _l("最后一条之后的记录被删除")}
MAX_CHANGES_SHOWN = 600  # characters of an entry's changes on the page (the API gives them whole)


class AuditLookupForm(Schema):
    object_type = fields.String(required=True, validate=validate.OneOf(tuple(OBJECT_TYPES)))
    object_id = Text(required=True, validate=validate.Length(min=1, max=64))


@bp.get("/audit", endpoint="audit")
@console_page
def audit_log():
    """Pick an object (type and id) to read its trail; below, the newest entries the reader may see."""
    kept = {name: request.args.get(name, "")[:64] for name in ("object_type", "object_id")}
    errors = {}
    if any(kept.values()):
        data, errors = form_errors(AuditLookupForm(), kept)
        if not errors:
            return redirect(url_for("console.audit_trail", **data), code=303)
    entries, _total = _entries({}, 1)
    html = render_template("console/audit.html", form=kept, errors=errors, types=OBJECT_TYPES, entries=entries)
    return html, (422 if errors else 200)


@bp.get("/audit/<string(maxlength=16):object_type>/<string(maxlength=64):object_id>")
@console_page
def audit_trail(object_type, object_id):
    """One object's entries, newest first (empty for a regulator when the object lies outside its area)."""
    if object_type not in OBJECT_TYPES:
        raise NotFound(f"no audit trail for {object_type}")
    data, errors = form_errors(_PageForm(), {"page": request.args.get("page", "")[:12]})
    number = data.get("page", 1)
    entries, total = ([], 0) if errors else _entries({"object_type": object_type, "object_id": object_id}, number)
    pages = page_count(total)
    if not errors and number > max(pages, 1):
        errors = {"page": _("没有第 %(page)s 页，共 %(pages)s 页。", page=number, pages=pages)}
    html = render_template("console/audit_trail.html", object_type=object_type, object_id=object_id,
                           type_name=OBJECT_TYPES[object_type], entries=entries, total=total, page=number,
                           pages=pages, errors=errors, types=OBJECT_TYPES)
    return html, (422 if errors else 200)


@bp.route("/audit/chain", methods=["GET", "POST"])
@console_page
def audit_chain():
    """GET: what the check does, and its button. POST: walk the whole chain now and show the outcome."""
    result = audit.check_chain(db()) if request.method == "POST" else None
    broken = None
    if result is not None and result.broken is not None:
        b = result.broken
        broken = {"seq": b.seq, "entry_id": b.entry_id, "problem": CHAIN_PROBLEMS.get(b.kind, b.problem)}
    return render_template("console/audit_chain.html", result=result, broken=broken)


class _PageForm(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))


def _entries(filters: dict, number: int) -> tuple[list[dict], int]:
    items, total = audit_areas.list_visible_entries(db(), actor=actor(), areas=areas(),
                                                    resolvers=current_app.extensions["audit_areas"], filters=filters,
                                                    page=Page(number, PAGE_SIZE))
    return [_entry(e) for e in items], total


def _entry(e: audit.AuditEntry) -> dict:
    changes = json.dumps(e.changes or {}, ensure_ascii=False, sort_keys=True)
    if len(changes) > MAX_CHANGES_SHOWN:
        changes = changes[:MAX_CHANGES_SHOWN] + "…"
    role = ROLE_NAMES.get(e.actor_role)
    return {"seq": e.seq, "at": local_time(e.at, seconds=True), "actor": e.actor_name,
            "role": str(role) if role else e.actor_role, "action": e.action, "object_type": e.object_type,
            "object_id": e.object_id, "linked": e.object_type in OBJECT_TYPES, "changes": changes,
            "hash": e.hash[:12]}

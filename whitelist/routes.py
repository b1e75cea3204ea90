"""White-list HTTP routes: parse, call one service, dump."""
from flask import Response, current_app, request
from flask.views import MethodView

from core import keys, ratelimit
from core.accounts import SYSTEM, Role
from core.auth import current_actor, optional_auth, require_role
from core.clock import utcnow
from core.db import get_session
from core.errors import PayloadTooLarge, UnsupportedMediaType
from core.http import Blueprint, area_tree, page_of, pii_cipher
from core.schemas import OptionalReasonIn, ReasonIn
from whitelist import imports, services
from whitelist.models import EntryStatus
from whitelist.schemas import (FirmIn, FirmOut, FirmQueryArgs, FirmRegisteredOut, ImportResultOut, PersonIn,
                               PersonOut, PersonQueryArgs, PersonUpdateIn, PublicFirmOut, VehicleIn, VehicleOut,
                               VehicleQueryArgs, VehicleUpdateIn)

blp = Blueprint("whitelist", __name__, url_prefix="/api/v1", description="White lists of firms, people, vehicles")
BEARER = [{"bearer": []}]
READERS = (Role.ADMIN, Role.REGULATOR, Role.AUDITOR, Role.FIRM)
MANAGERS = (Role.ADMIN, Role.REGULATOR, Role.FIRM)
REGULATORS = (Role.ADMIN, Role.REGULATOR)


@blp.route("/firms")
class Firms(MethodView):
    @optional_auth
    @blp.arguments(FirmIn)
    @blp.response(201, FirmRegisteredOut)
    @blp.doc(security=[{}, {"bearer": []}])
    def post(self, data):
        """Register a firm: anonymously (pending) or as a regulator of its area (approved at once).

        The response carries `account_token`, the firm account's token, shown only this once. With
        `username` and `password` the same account (the firm's manager) can also sign in on the web."""
        actor = current_actor()
        if actor.role is None:  # anonymous applications are throttled per client address
            ratelimit.take("registration")  # test and count in one step (no race)
        firm, token = services.register_firm(get_session(), data=data, actor=actor, areas=area_tree(),
                                             cipher=pii_cipher(), now=utcnow(),
                                             passwords=current_app.extensions["passwords"])
        attributes = [field.attribute or name for name, field in FirmOut().fields.items()]
        return {**{name: getattr(firm, name) for name in attributes}, "account_token": token}

    @require_role(*READERS)
    @blp.arguments(FirmQueryArgs, location="query")
    @blp.response(200, FirmOut(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, args, pagination_parameters):
        """Firms the caller may see: its own (firm), its area's (regulator), all (admin, auditor)."""
        items, total = services.list_firms(get_session(), actor=current_actor(), areas=area_tree(),
                                           filters=args, page=page_of(pagination_parameters))
        pagination_parameters.item_count = total
        return items


@blp.route("/firms/<int(max=2147483647):firm_id>")
class FirmItem(MethodView):
    @require_role(*READERS)
    @blp.response(200, FirmOut)
    @blp.doc(security=BEARER)
    def get(self, firm_id):
        return services.get_firm(get_session(), firm_id, actor=current_actor(), areas=area_tree())


def _firm_action(action: str):
    @require_role(*REGULATORS)
    @blp.arguments(OptionalReasonIn, required=False)
    @blp.response(200, FirmOut)
    @blp.doc(security=BEARER)
    def view(data, firm_id):
        return services.change_firm_status(get_session(), firm_id, action, actor=current_actor(),
                                           areas=area_tree(), now=utcnow(), reason=data.get("reason"))
    view.__name__ = f"{action}_firm"
    view.__doc__ = f"{action.capitalize()} a firm (regulator whose area contains the firm's area)."
    blp.route(f"/firms/<int(max=2147483647):firm_id>/{action}", methods=["POST"], endpoint=f"{action}_firm")(view)


for _action in ("approve", "reject", "suspend", "reinstate", "revoke"):
    _firm_action(_action)


@blp.route("/firms/<int(max=2147483647):firm_id>/people/import", methods=["POST"])
@require_role(*MANAGERS)
@blp.response(201, ImportResultOut)
@blp.doc(security=BEARER, requestBody={"required": True, "content": {"text/csv": {"schema": {
    "type": "string", "example": "kind,name,id_type,id_number,phone\n"
                                 "driver,张三,cn_resident_id,440304200001010009,13800138000\n"}}}})
def import_people(firm_id):
    """Import people from CSV (columns kind,name,id_type,id_number,phone): all rows or none.

    On any error the 422 response lists every error as {row, column, message}; row is the line number
    in the file, the header being line 1."""
    _require_csv_upload()
    result = imports.import_people(get_session(), firm_id, request.get_data(cache=False), actor=current_actor(),
                                   areas=area_tree(), cipher=pii_cipher(), now=utcnow(), admit=_import_allowance)
    return result


@blp.route("/firms/<int(max=2147483647):firm_id>/vehicles/import", methods=["POST"])
@require_role(*MANAGERS)
@blp.response(201, ImportResultOut)
@blp.doc(security=BEARER, requestBody={"required": True, "content": {"text/csv": {"schema": {
    "type": "string", "example": "plate,hk_plate,kind\n粤B12345,,van\n粤Z1234港,AB1234,truck\n"}}}})
def import_vehicles(firm_id):
    """Import vehicles from CSV (columns plate,hk_plate,kind; hk_plate empty unless cross-border): all rows
    or none, as the people import (same errors, same per-firm allowance)."""
    _require_csv_upload()
    return imports.import_vehicles(get_session(), firm_id, request.get_data(cache=False), actor=current_actor(),
                                   areas=area_tree(), now=utcnow(), admit=_import_allowance)


def _require_csv_upload() -> None:
    if request.mimetype not in ("text/csv", "text/plain", "application/octet-stream"):
        raise UnsupportedMediaType("send the CSV with Content-Type: text/csv")
    if (request.content_length or 0) > current_app.config["MAX_IMPORT_BYTES"]:
        raise PayloadTooLarge(f"an import is at most {current_app.config['MAX_IMPORT_BYTES']} bytes; split the file")


def _import_allowance(firm_id: int) -> None:
    # Counted per firm, whoever imports, and only once the caller may manage the firm: nobody can use up
    # another firm's imports.
    ratelimit.consume_or_refuse("import", key=f"firm:{firm_id}",
                                message="too many imports for this firm; try later")


@blp.route("/public/firms")
class PublicFirms(MethodView):
    @blp.arguments(FirmQueryArgs(exclude=("status",)), location="query")
    @blp.response(200, PublicFirmOut(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Approved firms (public, no token): name, credit code, category and area names only."""
        tree = area_tree()
        items, total = services.search_public_firms(get_session(), filters=args, areas=tree,
                                                    page=page_of(pagination_parameters))
        pagination_parameters.item_count = total
        return [{"id": f.id, "name": f.name, "uscc": f.uscc, "category": f.category,
                 "area_code": f.area_code, "area_name_zh": tree.get(f.area_code).name_zh,
                 "area_name_en": tree.get(f.area_code).name_en} for f in items]


@blp.route("/people")
class People(MethodView):
    @require_role(*MANAGERS)
    @blp.arguments(PersonIn)
    @blp.response(201, PersonOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Add a courier or driver (firm for itself; regulator or admin for a firm in its area)."""
        return services.register_person(get_session(), data=data, actor=current_actor(), areas=area_tree(),
                                        cipher=pii_cipher(), now=utcnow())

    @require_role(*READERS)
    @blp.arguments(PersonQueryArgs, location="query")
    @blp.response(200, PersonOut(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, args, pagination_parameters):
        """People the caller may see; `id_type` + `id_number` finds one person by keyed hash."""
        items, total = services.list_people(get_session(), actor=current_actor(), areas=area_tree(),
                                            cipher=pii_cipher(), filters=args,
                                            page=page_of(pagination_parameters))
        pagination_parameters.item_count = total
        return items


@blp.route("/people/<int(max=2147483647):person_id>")
class PersonItem(MethodView):
    @require_role(*READERS)
    @blp.response(200, PersonOut)
    @blp.doc(security=BEARER)
    def get(self, person_id):
        return services.get_person(get_session(), person_id, actor=current_actor(), areas=area_tree())

    @require_role(*MANAGERS)
    @blp.arguments(PersonUpdateIn)
    @blp.response(200, PersonOut)
    @blp.doc(security=BEARER)
    def patch(self, data, person_id):
        """Correct a person's name or phone (the identity number cannot change: a new identity is a new person)."""
        return services.update_person(get_session(), person_id, data=data, actor=current_actor(), areas=area_tree(),
                                      cipher=pii_cipher(), now=utcnow())


@blp.route("/vehicles")
class Vehicles(MethodView):
    @require_role(*MANAGERS)
    @blp.arguments(VehicleIn)
    @blp.response(201, VehicleOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Add a vehicle (firm for itself; regulator or admin for a firm in its area)."""
        return services.register_vehicle(get_session(), data=data, actor=current_actor(), areas=area_tree(),
                                         now=utcnow())

    @require_role(*READERS)
    @blp.arguments(VehicleQueryArgs, location="query")
    @blp.response(200, VehicleOut(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, args, pagination_parameters):
        items, total = services.list_vehicles(get_session(), actor=current_actor(), areas=area_tree(),
                                              filters=args, page=page_of(pagination_parameters))
        pagination_parameters.item_count = total
        return items


@blp.route("/vehicles/<int(max=2147483647):vehicle_id>")
class VehicleItem(MethodView):
    @require_role(*READERS)
    @blp.response(200, VehicleOut)
    @blp.doc(security=BEARER)
    def get(self, vehicle_id):
        return services.get_vehicle(get_session(), vehicle_id, actor=current_actor(), areas=area_tree())

    @require_role(*MANAGERS)
    @blp.arguments(VehicleUpdateIn)
    @blp.response(200, VehicleOut)
    @blp.doc(security=BEARER)
    def patch(self, data, vehicle_id):
        """Correct a vehicle's kind (its plates cannot change: a new plate is a new vehicle)."""
        return services.update_vehicle(get_session(), vehicle_id, data=data, actor=current_actor(),
                                       areas=area_tree(), now=utcnow())


def _status_route(kind: str, setter, out_schema, target: EntryStatus, action: str):
    @require_role(*REGULATORS)
    @blp.arguments(ReasonIn)
    @blp.response(200, out_schema)
    @blp.doc(security=BEARER)
    def view(data, item_id):
        return setter(get_session(), item_id, target, actor=current_actor(), areas=area_tree(),
                      reason=data["reason"], now=utcnow())
    view.__name__ = f"{action}_{kind}"
    view.__doc__ = f"{action.capitalize()} a {kind} (regulator whose area contains the firm), with a reason."
    blp.route(f"/{'people' if kind == 'person' else 'vehicles'}/<int(max=2147483647):item_id>/{action}", methods=["POST"],
              endpoint=view.__name__)(view)


for _target, _action in ((EntryStatus.SUSPENDED, "suspend"), (EntryStatus.ACTIVE, "reinstate")):
    _status_route("person", services.set_person_status, PersonOut, _target, _action)
    _status_route("vehicle", services.set_vehicle_status, VehicleOut, _target, _action)


@blp.route("/whitelist/export")
@blp.doc(responses={"200": {"description": "COSE_Sign1 whose payload is UTF-8 JSON (see docs/pass-format.md)",
                            "content": {"application/cose": {"schema": {"type": "string", "format": "binary"}}}}})
def export_whitelist():
    """The approved white list, signed with the pass keys, for neighbouring cities (public)."""
    session, now = get_session(), utcnow()
    signer = keys.active_signer(session, current_app.extensions["keyring"], actor=SYSTEM, now=now)
    document = signer.sign(services.export_payload(session, now=now))
    response = Response(document, mimetype="application/cose")
    response.headers["Content-Disposition"] = 'attachment; filename="greenlane-whitelist.cose"'
    return response

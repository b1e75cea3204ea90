"""HTTP routes for a firm's colleagues (web users): parse, call one service, dump."""
from flask import current_app
from flask.views import MethodView

from core.accounts import Role
from core.auth import current_actor, require_role
from core.clock import utcnow
from core.db import get_session
from core.http import Blueprint, area_tree
from whitelist import firm_users
from whitelist.schemas import FirmUserIn, FirmUserOut

blp = Blueprint("firm_users", __name__, url_prefix="/api/v1", description="A firm's web users")
BEARER = [{"bearer": []}]
ID = "int(max=2147483647)"


@blp.route(f"/firms/<{ID}:firm_id>/users")
class FirmUsers(MethodView):
    @require_role(Role.ADMIN, Role.FIRM)
    @blp.arguments(FirmUserIn)
    @blp.response(201, FirmUserOut)
    @blp.doc(security=BEARER)
    def post(self, data, firm_id):
        """Add a colleague who signs in with a user name and password (a manager of the firm, or an admin).

        Clerks may not add users (403); another firm's id is a 404; a taken user name is a 409."""
        account = firm_users.add_firm_user(get_session(), firm_id, data=data,
                                           passwords=current_app.extensions["passwords"], actor=current_actor(),
                                           areas=area_tree(), now=utcnow())
        return firm_users.describe_firm_user(account)

    @require_role(Role.ADMIN, Role.FIRM)
    @blp.response(200, FirmUserOut(many=True))
    @blp.doc(security=BEARER)
    def get(self, firm_id):
        """The firm's accounts (its own users, or an admin), revoked ones too; never hashes or secrets."""
        return [firm_users.describe_firm_user(a)
                for a in firm_users.list_firm_users(get_session(), firm_id, actor=current_actor())]


@blp.route(f"/firms/<{ID}:firm_id>/users/<{ID}:account_id>/revoke", methods=["POST"])
@require_role(Role.ADMIN, Role.FIRM)
@blp.response(200, FirmUserOut)
@blp.doc(security=BEARER)
def revoke_firm_user(firm_id, account_id):
    """Revoke one of the firm's accounts (a manager of the firm, or an admin): its token and web sessions end."""
    account = firm_users.revoke_firm_user(get_session(), firm_id, account_id, actor=current_actor(), now=utcnow())
    return firm_users.describe_firm_user(account)

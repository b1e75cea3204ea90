"""Who is calling: bearer-token authentication and role gates. What they may do with data is decided in
the services, which receive the Actor explicitly."""
from functools import wraps
from typing import Callable

from flask import current_app, g, request

from core import counters, ratelimit
from core.accounts import PUBLIC, Actor, Role, find_account_by_token, hash_token
from core.db import get_session
from core.errors import Forbidden, Unauthorized


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authenticate() -> Actor | None:
    token = _bearer_token()
    if token is None:
        return None
    actor = _actor_for_token(token)
    if actor is None:
        # Only bad tokens are counted and refused (per address and per token prefix): a good token is
        # never refused, so a shared NAT or proxy cannot lock every officer out.
        ratelimit.count_failed_auth(token)
        raise Unauthorized("the token is unknown or revoked")
    return actor


def _actor_for_token(token: str) -> Actor | None:
    """The token's actor from the per-process cache while no account changed anywhere (the accounts
    version, read with the request's other cache versions in one statement); from the database otherwise.
    A revoked or rotated token is therefore refused by the very next request on every host."""
    session = get_session()  # the request's session: the versions read here serve the whole request
    version = counters.snapshot(session)[counters.ACCOUNTS_VERSION]
    cache = current_app.extensions["actor_cache"]
    if cache.get("version") != version:
        cache.clear()
        cache["version"] = version
    key = hash_token(token)
    actor = cache.get(key)
    if actor is None:
        account = find_account_by_token(session, token)
        actor = Actor.of(account) if account is not None else None
        if actor is not None and len(cache) < 100_000:  # unknown tokens are never kept
            cache[key] = actor
    return actor


def current_actor() -> Actor:
    """The caller of this request (PUBLIC when no token was sent)."""
    if "actor" not in g:
        g.actor = _authenticate() or PUBLIC
    return g.actor


def require_role(*roles: Role) -> Callable:
    """Reject the request with 401 without a valid token and 403 when the role is not one of `roles`."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            actor = current_actor()
            if actor.role is None:
                raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
            if actor.role not in roles:
                raise Forbidden(f"the {actor.role.value} role may not do this")
            return view(*args, **kwargs)
        wrapper.required_roles = roles  # read by the authorization matrix test
        return wrapper
    return decorator


def optional_auth(view: Callable) -> Callable:
    """Resolve the token if one is sent (a bad token is still a 401), but allow anonymous callers."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        current_actor()
        return view(*args, **kwargs)
    wrapper.required_roles = ()
    return wrapper

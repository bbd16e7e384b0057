"""THE admin route table, and the one place that authenticates and authorises admin calls.

Every route names the permission it needs. ``PUBLIC`` (health, metrics, the sign-in
endpoints themselves) and ``SIGNED_IN`` (any authenticated caller, e.g. ``/me``) are the
only alternatives, and each must be chosen explicitly. A route under
``/admin/v1/workspaces/{workspace}`` is authorised against the caller's role in *that*
workspace: a key or member of workspace A holds nothing in B, and gets the same 403
whether or not B exists.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from tutela.admin.http import HttpError, Request, Response
from tutela.identity.api_keys import parse_key
from tutela.identity.sessions import Actor, resolve_session
from tutela.store.database import WorkspaceRecord

if TYPE_CHECKING:
    from tutela.gateway import Gateway

PUBLIC = "public"
SIGNED_IN = "signed-in"


@dataclass(slots=True, kw_only=True)
class Context:
    gateway: Gateway
    request: Request
    params: dict[str, str]
    actor: Actor | None = None
    workspace: WorkspaceRecord | None = None
    role: str | None = None  # the actor's role in ``workspace`` (or its org role)

    @property
    def who(self) -> Actor:
        assert self.actor is not None
        return self.actor


Handler = Callable[[Context], Awaitable[Response]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    method: str
    pattern: str
    permission: str
    handler: Handler
    summary: str
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.pattern) + "$"
        object.__setattr__(self, "regex", re.compile(regex))

    @property
    def workspace_scoped(self) -> bool:
        return "{workspace}" in self.pattern


def build_routes() -> tuple[Route, ...]:
    from tutela.admin import api, sso
    from tutela.identity import roles as p

    def r(method: str, pattern: str, permission: str, handler: Handler, summary: str) -> Route:
        return Route(
            method=method, pattern=pattern, permission=permission, handler=handler, summary=summary
        )

    ws = "/admin/v1/workspaces/{workspace}"
    return (
        r("GET", "/healthz", PUBLIC, api.healthz, "liveness"),
        r("GET", "/readyz", PUBLIC, api.readyz, "readiness: database and audit writer"),
        r("GET", "/metrics", PUBLIC, api.metrics, "Prometheus metrics"),
        r("GET", "/admin/v1/openapi.json", PUBLIC, api.openapi, "this API's OpenAPI document"),
        r("GET", "/admin/v1/me", SIGNED_IN, api.me, "who am I, and my roles"),
        r("GET", "/admin/v1/roles", SIGNED_IN, api.list_roles, "roles and their permissions"),
        r("GET", "/admin/v1/workspaces", p.ORG_READ, api.list_workspaces, "list workspaces"),
        r("POST", "/admin/v1/workspaces", p.ORG_MANAGE, api.create_workspace, "create a workspace"),
        r("GET", "/admin/v1/users", p.ORG_READ, api.list_users, "list people and their roles"),
        r(
            "PUT",
            "/admin/v1/users/{email}",
            p.ORG_MANAGE,
            api.put_user,
            "disable or enable a person; appoint or remove an owner",
        ),
        r("GET", ws + "/keys", p.KEYS_READ, api.list_keys, "list keys with rotation status"),
        r("POST", ws + "/keys", p.KEYS_MANAGE, api.create_key, "create a key (secret shown once)"),
        r("POST", ws + "/keys/{key_id}/rotate", p.KEYS_MANAGE, api.rotate_key, "rotate a key"),
        r("POST", ws + "/keys/{key_id}/revoke", p.KEYS_MANAGE, api.revoke_key, "revoke a key"),
        r("GET", ws + "/members", p.MEMBERS_READ, api.list_members, "list members"),
        r(
            "PUT",
            ws + "/members/{email}",
            p.MEMBERS_MANAGE,
            api.put_member,
            "add or change a member",
        ),
        r(
            "DELETE",
            ws + "/members/{email}",
            p.MEMBERS_MANAGE,
            api.delete_member,
            "remove a member",
        ),
        r("GET", ws + "/audit", p.AUDIT_READ, api.workspace_audit, "the workspace's audit events"),
        r(
            "GET",
            ws + "/audit/content/{request_id}",
            p.CONTENT_READ,
            api.workspace_audit_content,
            "decrypt one request's logged prompt and response; the reading is audited first",
        ),
        r(
            "GET",
            ws + "/audit/export",
            p.AUDIT_READ,
            api.workspace_audit_export,
            "download the workspace's audit events (jsonl or csv); the export is audited",
        ),
        r("GET", "/sso/providers", PUBLIC, sso.providers, "sign-in options"),
        r("GET", "/sso/oidc/{provider}/login", PUBLIC, sso.oidc_login, "start an OIDC sign-in"),
        r("GET", "/sso/oidc/{provider}/callback", PUBLIC, sso.oidc_callback, "OIDC redirect URI"),
        r("GET", "/sso/saml/{provider}/metadata", PUBLIC, sso.saml_metadata, "SP metadata"),
        r("GET", "/sso/saml/{provider}/login", PUBLIC, sso.saml_login, "start a SAML sign-in"),
        r("POST", "/sso/saml/{provider}/acs", PUBLIC, sso.saml_acs, "SAML assertion consumer"),
        r("GET", "/sso/device", PUBLIC, sso.device_page, "Claude Code sign-in: confirm the code"),
        r("POST", "/sso/device", PUBLIC, sso.device_confirm, "Claude Code sign-in: pick the IdP"),
        r(
            "POST",
            "/sso/break-glass",
            PUBLIC,
            sso.break_glass,
            "local admin sign-in (password + TOTP)",
        ),
        r("POST", "/sso/logout", SIGNED_IN, sso.logout, "sign out (ends this session)"),
    )


async def authenticate(gateway: Gateway, request: Request) -> tuple[Actor | None, bool]:
    """The caller, and whether it came by cookie (which then needs the CSRF check)."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        if parse_key(token) is not None:
            principal = await gateway.authenticator.authenticate(token)
            if principal is None or not gateway.policy.keys_allowed(principal.workspace):
                return None, False
            record = await asyncio.to_thread(gateway.store.find_key, principal.key_id)
            return (Actor.of_key(record) if record is not None else None), False
        return await asyncio.to_thread(resolve_session, gateway.identity, token), False
    cookie = request.cookies.get(gateway.policy.identity.sessions.cookie_name)
    if cookie:
        return await asyncio.to_thread(resolve_session, gateway.identity, cookie), True
    return None, False


async def dispatch(gateway: Gateway, routes: tuple[Route, ...], request: Request) -> Response:
    allowed: list[str] = []
    for route in routes:
        match = route.regex.match(request.path)
        if match is None:
            continue
        if route.method != request.method and not (
            route.method == "GET" and request.method == "HEAD"
        ):
            allowed.append(route.method)
            continue
        ctx = Context(gateway=gateway, request=request, params=match.groupdict())
        try:
            response = await authorise(ctx, route) or await route.handler(ctx)
        except HttpError as exc:
            response = Response.error(exc.status, exc.kind, exc.message)
        if response.status == 403 and ctx.actor is not None:
            await _audit_denial(ctx, route, response)
        return response
    if allowed:
        response = Response.error(405, "method_not_allowed", "method not allowed")
        response.headers.append(("allow", ", ".join(sorted(set(allowed)))))
        return response
    return Response.error(404, "not_found", f"no route for {request.method} {request.path}")


async def _audit_denial(ctx: Context, route: Route, response: Response) -> None:
    from tutela.identity.events import denied_event

    actor = ctx.who
    try:
        reason = str(orjson.loads(response.body)["error"]["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        reason = "forbidden"
    # Recorded where the caller belongs (its key's workspace, or the workspace it acted in),
    # never in a workspace it has no role in: B's audit view shows nothing of A's callers.
    # Owners see every denial through the organisation-wide trail.
    workspace_id = ctx.workspace.id if ctx.workspace is not None else actor.key_workspace_id
    event = denied_event(
        actor=actor.label,
        workspace_id=workspace_id,
        source_ip=ctx.request.client_ip,
        provider=actor.provider,
        method=route.method,
        route=route.pattern,
        reason=reason[:300],
    )
    await asyncio.to_thread(ctx.gateway.store.append_audit, [event])


async def authorise(ctx: Context, route: Route) -> Response | None:
    """None when the caller may use ``route``; else the refusal to send."""
    if route.permission == PUBLIC:
        return None
    gateway = ctx.gateway
    actor, by_cookie = await authenticate(gateway, ctx.request)
    if actor is None:
        return Response.error(
            401, "authentication_error", "sign in, or send an API key or session token"
        )
    # A cross-site form cannot send JSON without a CORS preflight, which we never grant.
    json_body = ctx.request.headers.get("content-type", "").startswith("application/json")
    if by_cookie and ctx.request.method not in ("GET", "HEAD") and not json_body:
        return Response.error(
            403, "permission_error", "cookie-authenticated changes must be sent as JSON"
        )
    ctx.actor = actor
    if route.permission == SIGNED_IN:
        return None
    forbidden = Response.error(
        403, "permission_error", f"not permitted: this needs {route.permission!r}"
    )
    if route.workspace_scoped:
        name = ctx.params["workspace"]
        space = await asyncio.to_thread(gateway.store.get_workspace, name)
        role = actor.role_in(space.id) if space is not None else None
        if space is None or not gateway.roles.permits(role, route.permission):
            if space is None and actor.org_role == "owner":
                return Response.error(404, "not_found", f"no workspace named {name!r}")
            return forbidden
        ctx.workspace, ctx.role = space, role
        return None
    if not gateway.roles.permits(actor.org_role, route.permission):
        return forbidden
    ctx.role = actor.org_role
    return None

"""Admin API handlers: workspaces, members, keys, audit. Authorisation happened before a
handler runs (``routes.authorise``); handlers add the escalation rule — nobody hands out,
rotates, revokes or changes a role stronger than their own — and audit every change."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST

from tutela.admin.http import HttpError, Response
from tutela.admin.routes import PUBLIC, Context
from tutela.audit.events import AuditEvent
from tutela.errors import TutelaError
from tutela.identity import api_keys
from tutela.identity.events import change_event as access_change_event
from tutela.identity.roles import OWNER, PERMISSIONS
from tutela.metrics import exposition
from tutela.store.database import utcnow

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s/]{1,200}@[^@\s/]{1,200}$")


async def _audit(ctx: Context, *events: AuditEvent) -> None:
    await asyncio.to_thread(ctx.gateway.store.append_audit, list(events))


def _change(ctx: Context, event_type: str, **fields: Any) -> AuditEvent:
    return access_change_event(
        event_type,
        actor=ctx.who.label,
        workspace_id=ctx.workspace.id if ctx.workspace else fields.pop("workspace_id", None),
        source_ip=ctx.request.client_ip,
        provider=ctx.who.provider,
        **fields,
    )


def _may_grant(ctx: Context, role: str, verb: str) -> None:
    if not ctx.gateway.roles.may_grant(ctx.role, role):
        raise HttpError(
            403,
            "permission_error",
            f"not permitted: your role {ctx.role!r} cannot {verb} role {role!r} "
            "(it grants permissions you do not hold)",
        )


# -- health and metrics -----------------------------------------------------------------


async def healthz(ctx: Context) -> Response:
    return Response.json({"status": "ok"})


async def readyz(ctx: Context) -> Response:
    gateway = ctx.gateway
    checks = {
        "database": await asyncio.to_thread(gateway.store.ping),
        # Ready while the audit writer keeps up; a backlog means the database lags.
        "writer": gateway.writer is not None and gateway.writer.backlog < 10_000,
    }
    ready = all(checks.values())
    return Response.json(
        {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
    )


async def metrics(ctx: Context) -> Response:
    writer = ctx.gateway.writer
    if writer is not None:
        ctx.gateway.metrics.audit_backlog.set(writer.backlog)
    return Response(body=exposition(ctx.gateway.metrics), content_type=CONTENT_TYPE_LATEST)


async def openapi(ctx: Context) -> Response:
    from tutela.admin.app import ROUTES

    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        operation: dict[str, Any] = {
            "summary": route.summary,
            "x-tutela-permission": route.permission,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"\{(\w+)\}", route.pattern)
            ],
        }
        if route.permission != PUBLIC:
            operation["security"] = [{"apiKey": []}, {"session": []}]
        paths.setdefault(route.pattern, {})[route.method.lower()] = operation
    return Response.json(
        {
            "openapi": "3.1.0",
            "info": {"title": "tutela admin API", "version": "1"},
            "components": {
                "securitySchemes": {
                    "apiKey": {"type": "http", "scheme": "bearer", "description": "tutela_sk_…"},
                    "session": {
                        "type": "apiKey",
                        "in": "cookie",
                        "name": ctx.gateway.policy.identity.sessions.cookie_name,
                    },
                }
            },
            "paths": paths,
        }
    )


# -- who am I ---------------------------------------------------------------------------


async def me(ctx: Context) -> Response:
    actor = ctx.who
    spaces = await asyncio.to_thread(ctx.gateway.store.list_workspaces)
    roles = {}
    for space in spaces:
        role = actor.role_in(space.id)
        if role is not None:
            roles[space.name] = role
    return Response.json(
        {
            "kind": actor.kind,
            "id": actor.id,
            "name": actor.label,
            "provider": actor.provider,
            "org_role": actor.org_role,
            "workspaces": roles,
        }
    )


async def list_roles(ctx: Context) -> Response:
    table = ctx.gateway.roles.table
    return Response.json(
        {
            "permissions": PERMISSIONS,
            "roles": {name: sorted(perms) for name, perms in sorted(table.items())},
        }
    )


# -- workspaces -------------------------------------------------------------------------


async def list_workspaces(ctx: Context) -> Response:
    spaces = await asyncio.to_thread(ctx.gateway.store.list_workspaces)
    return Response.json(
        [{"id": w.id, "name": w.name, "created_at": w.created_at.isoformat()} for w in spaces]
    )


async def create_workspace(ctx: Context) -> Response:
    name = str(ctx.request.json().get("name", ""))
    if not _NAME.match(name):
        raise HttpError(400, "invalid_request", "name: lowercase letters, digits, - and _")
    try:
        record = await asyncio.to_thread(ctx.gateway.store.create_workspace, name)
    except TutelaError as exc:
        raise HttpError(409, "conflict", str(exc)) from None
    await _audit(
        ctx,
        _change(
            ctx,
            "workspace.created",
            workspace_id=record.id,
            target=record.id,
            after={"name": name},
        ),
    )
    return Response.json({"id": record.id, "name": name}, 201)


async def list_users(ctx: Context) -> Response:
    identity = ctx.gateway.identity
    users = await asyncio.to_thread(identity.list_users)
    spaces = {w.id: w.name for w in await asyncio.to_thread(ctx.gateway.store.list_workspaces)}
    out = []
    for user in users:
        memberships = await asyncio.to_thread(identity.memberships_of, user.id)
        roles = {spaces[ws]: m.role for ws, m in memberships.items() if ws in spaces}
        out.append({**user.public(), "workspaces": roles})
    return Response.json(out)


async def put_user(ctx: Context) -> Response:
    """``{"disabled": bool, "owner": bool}``: a departed person is disabled (every session
    ends at once, sign-in is refused); owners are appointed or removed."""
    email = _email(ctx)
    body = ctx.request.json()
    identity = ctx.gateway.identity
    user = await asyncio.to_thread(identity.get_user_by_email, email)
    if user is None:
        raise HttpError(404, "not_found", "no such user")
    before = {"disabled": user.disabled_at is not None, "org_role": user.org_role}
    if "disabled" in body:
        if not isinstance(body["disabled"], bool):
            raise HttpError(400, "invalid_request", "disabled must be true or false")
        if body["disabled"] and user.id == ctx.who.id:
            raise HttpError(400, "invalid_request", "you cannot disable yourself")
        await asyncio.to_thread(identity.set_disabled, user.id, body["disabled"])
        if body["disabled"]:
            await ctx.gateway.revoke_user(user.id)
    if "owner" in body:
        if not isinstance(body["owner"], bool):
            raise HttpError(400, "invalid_request", "owner must be true or false")
        await asyncio.to_thread(identity.set_org_role, user.id, OWNER if body["owner"] else None)
    updated = await asyncio.to_thread(identity.get_user, user.id)
    assert updated is not None
    after = {"disabled": updated.disabled_at is not None, "org_role": updated.org_role}
    await _audit(ctx, _change(ctx, "user.changed", target=user.id, before=before, after=after))
    return Response.json(updated.public())


# -- keys -------------------------------------------------------------------------------


async def list_keys(ctx: Context) -> Response:
    assert ctx.workspace is not None
    records = await asyncio.to_thread(ctx.gateway.store.list_keys, ctx.workspace.name)
    now = utcnow()
    max_age = ctx.gateway.policy.identity.keys.max_age_days
    return Response.json([api_keys.key_status(r, now, max_age) for r in records])


def _expiry(ctx: Context, body: dict[str, Any]) -> dt.datetime | None:
    days = body.get("expires_in_days")
    cap = ctx.gateway.policy.identity.keys.max_expiry_days
    if days is None:
        days = cap or None
    if days is None:
        return None
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise HttpError(400, "invalid_request", "expires_in_days must be a positive integer")
    if cap and days > cap:
        raise HttpError(400, "invalid_request", f"expires_in_days is capped at {cap} by policy")
    return utcnow() + dt.timedelta(days=days)


async def create_key(ctx: Context) -> Response:
    assert ctx.workspace is not None
    body = ctx.request.json()
    role = str(body.get("role", ""))
    name = str(body.get("name", ""))[:200]
    if role not in ctx.gateway.roles or role == OWNER:
        raise HttpError(400, "invalid_request", f"unknown role {role!r} for a key")
    _may_grant(ctx, role, "create a key with")
    expires = _expiry(ctx, body)
    try:
        minted = await asyncio.to_thread(
            api_keys.mint_key,
            ctx.gateway.store,
            workspace=ctx.workspace.name,
            role=role,
            name=name,
            expires_at=expires,
            roles=ctx.gateway.roles,
            created_by=ctx.who.label,
        )
    except TutelaError as exc:
        raise HttpError(400, "invalid_request", str(exc)) from None
    await _audit(
        ctx, _change(ctx, "api_key.created", target=minted.record.id, after=minted.record.public())
    )
    return Response.json({**minted.record.public(), "key": minted.secret}, 201)


async def _key_here(ctx: Context) -> Any:
    assert ctx.workspace is not None
    record = await asyncio.to_thread(ctx.gateway.store.find_key, ctx.params["key_id"])
    if record is None or record.workspace_id != ctx.workspace.id:
        raise HttpError(404, "not_found", "no such key in this workspace")
    return record


async def rotate_key(ctx: Context) -> Response:
    assert ctx.workspace is not None
    record = await _key_here(ctx)
    _may_grant(ctx, record.role, "rotate a key with")
    body = ctx.request.json()
    policy = ctx.gateway.policy.identity.keys
    overlap_hours = body.get("overlap_hours", policy.rotation_overlap_hours)
    if (
        not isinstance(overlap_hours, int | float)
        or isinstance(overlap_hours, bool)
        or not (0 <= overlap_hours <= policy.rotation_overlap_hours)
    ):
        raise HttpError(
            400,
            "invalid_request",
            f"overlap_hours must be between 0 and {policy.rotation_overlap_hours} (policy)",
        )
    expires = _expiry(ctx, body)
    try:
        old, minted = await asyncio.to_thread(
            api_keys.rotate_key,
            ctx.gateway.store,
            record.id,
            workspace=ctx.workspace.name,
            overlap=dt.timedelta(hours=float(overlap_hours)),
            roles=ctx.gateway.roles,
            created_by=ctx.who.label,
            expires_at=expires,
        )
    except TutelaError as exc:
        raise HttpError(409, "conflict", str(exc)) from None
    ctx.gateway.authenticator.forget(record.id)
    await _audit(
        ctx,
        _change(
            ctx, "api_key.rotated", target=record.id, before=record.public(), after=old.public()
        ),
        _change(ctx, "api_key.created", target=minted.record.id, after=minted.record.public()),
    )
    return Response.json(
        {"old": old.public(), "new": {**minted.record.public(), "key": minted.secret}}, 201
    )


async def revoke_key(ctx: Context) -> Response:
    assert ctx.workspace is not None
    record = await _key_here(ctx)
    _may_grant(ctx, record.role, "revoke a key with")
    updated = await ctx.gateway.revoke_key(record.id, ctx.workspace.id)
    if updated is None:
        raise HttpError(404, "not_found", "no such key in this workspace")
    await _audit(
        ctx,
        _change(
            ctx, "api_key.revoked", target=record.id, before=record.public(), after=updated.public()
        ),
    )
    return Response.json(updated.public())


# -- members ----------------------------------------------------------------------------


async def list_members(ctx: Context) -> Response:
    assert ctx.workspace is not None
    rows = await asyncio.to_thread(ctx.gateway.identity.members, ctx.workspace.id)
    return Response.json(
        [{**user.public(), "role": m.role, "source": m.source} for user, m in rows]
    )


def _email(ctx: Context) -> str:
    email = ctx.params["email"].lower()
    if not _EMAIL.match(email):
        raise HttpError(400, "invalid_request", "not an email address")
    return email


async def put_member(ctx: Context) -> Response:
    assert ctx.workspace is not None
    email = _email(ctx)
    role = str(ctx.request.json().get("role", ""))
    if role not in ctx.gateway.roles or role == OWNER:
        raise HttpError(400, "invalid_request", f"unknown workspace role {role!r}")
    _may_grant(ctx, role, "grant")
    identity = ctx.gateway.identity
    user, created = await asyncio.to_thread(identity.upsert_user, email=email)
    previous = (await asyncio.to_thread(identity.memberships_of, user.id)).get(ctx.workspace.id)
    if previous is not None:
        _may_grant(ctx, previous.role, "change a member who holds")
    await asyncio.to_thread(identity.set_membership, user.id, ctx.workspace.id, role, "manual")
    events = []
    if created:
        events.append(_change(ctx, "user.created", target=user.id, after={"email": email}))
    events.append(
        _change(
            ctx,
            "member.added" if previous is None else "member.changed",
            target=user.id,
            before={"role": previous.role, "source": previous.source} if previous else None,
            after={"email": email, "role": role, "source": "manual"},
        )
    )
    await _audit(ctx, *events)
    return Response.json(
        {**user.public(), "role": role, "source": "manual"}, 201 if previous is None else 200
    )


async def delete_member(ctx: Context) -> Response:
    assert ctx.workspace is not None
    email = _email(ctx)
    identity = ctx.gateway.identity
    user = await asyncio.to_thread(identity.get_user_by_email, email)
    previous = (
        (await asyncio.to_thread(identity.memberships_of, user.id)).get(ctx.workspace.id)
        if user
        else None
    )
    if user is None or previous is None:
        raise HttpError(404, "not_found", "no such member in this workspace")
    _may_grant(ctx, previous.role, "remove a member who holds")
    await asyncio.to_thread(identity.remove_membership, user.id, ctx.workspace.id)
    await _audit(
        ctx,
        _change(
            ctx,
            "member.removed",
            target=user.id,
            before={"email": email, "role": previous.role, "source": previous.source},
        ),
    )
    return Response.json({"removed": email})


# -- audit ------------------------------------------------------------------------------


def _audit_query(ctx: Context, default_limit: int) -> tuple[dict[str, Any], int]:
    from tutela.audit.search import FILTERS, search_filters

    query = ctx.request.query
    try:
        limit = int(query.get("limit", str(default_limit)))
        filters = search_filters({name: query.get(name) for name in FILTERS})
    except ValueError as exc:
        raise HttpError(400, "invalid_request", str(exc)) from None
    return filters, limit


async def workspace_audit(ctx: Context) -> Response:
    """The workspace's events, newest first; filters: since, until (ISO 8601 or 24h/7d),
    event_type (or family.*), actor, key, class, request_id; limit (at most 1000)."""
    assert ctx.workspace is not None
    filters, limit = _audit_query(ctx, 100)
    rows = await asyncio.to_thread(
        ctx.gateway.store.search_audit,
        workspace_id=ctx.workspace.id,
        limit=max(1, min(1000, limit)),
        **filters,
    )
    return Response.json(
        [
            {
                "seq": row["seq"],
                "uid": row["uid"],
                "ts": row["ts"].isoformat(),
                "event_type": row["event_type"],
                "actor": row["actor"],
                "outcome": row["outcome"],
                "data": row["event"],
            }
            for row in rows
        ]
    )


async def workspace_audit_export(ctx: Context) -> Response:
    """The workspace's events, oldest first, as a JSON Lines or CSV download (format=);
    the same filters as the listing. The export is itself an audit event."""
    from tutela.audit.events import DataExport
    from tutela.audit.search import render_export, shown
    from tutela.identity.events import actor_of

    assert ctx.workspace is not None
    fmt = ctx.request.query.get("format", "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise HttpError(400, "invalid_request", "format must be jsonl or csv")
    filters, limit = _audit_query(ctx, 1_000_000)
    rows = await asyncio.to_thread(
        ctx.gateway.store.search_audit,
        workspace_id=ctx.workspace.id,
        limit=max(1, min(1_000_000, limit)),
        oldest_first=True,
        **filters,
    )
    await _audit(
        ctx,
        DataExport(
            activity="audit_events",
            actor=actor_of(ctx.who.label, ctx.who.provider),
            workspace_id=ctx.workspace.id,
            src_ip=ctx.request.client_ip,
            format=fmt,
            count=len(rows),
            filters=shown(filters),
        ),
    )
    body = render_export(rows, fmt).encode()
    return Response(
        body=body,
        content_type="application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8",
        headers=[
            ("content-disposition", f'attachment; filename="audit-{ctx.workspace.name}.{fmt}"')
        ],
    )


async def workspace_audit_content(ctx: Context) -> Response:
    """One request's logged content, decrypted. A ``content.decrypted`` event is committed
    before anything is returned; content of another workspace is simply not found."""
    from tutela.audit.events import ContentAccess
    from tutela.identity.events import actor_of

    assert ctx.workspace is not None
    request_id = ctx.params["request_id"]
    store = ctx.gateway.store
    row = await asyncio.to_thread(store.content, request_id)
    vault = ctx.gateway.content
    if row is None or row["workspace_id"] != ctx.workspace.id or vault is None:
        raise HttpError(404, "not_found_error", f"no logged content for {request_id}")
    await _audit(
        ctx,
        ContentAccess(
            activity="decrypted",
            actor=actor_of(ctx.who.label, ctx.who.provider),
            workspace_id=ctx.workspace.id,
            src_ip=ctx.request.client_ip,
            request_id=request_id,
            key_version=int(row["key_version"]),
        ),
    )
    try:
        plaintext = await asyncio.to_thread(vault.open, ctx.workspace.id, request_id, row)
    except Exception:  # wrong key, or a row moved or altered: never partial content
        raise HttpError(500, "api_error", "the logged content could not be decrypted") from None
    return Response.json({"request_id": request_id, "content": orjson.loads(plaintext)})

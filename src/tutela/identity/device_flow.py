"""Claude Code sign-in on the gateway port: OAuth discovery, RFC 8628 device authorization,
and the token endpoint (device grant and refresh grant); plus the endpoints a signed-in
Claude Code calls besides the Messages API (managed settings, telemetry).

The person approves the device in a browser on the admin port (``/sso/device``), signing
in through the configured identity provider with the same checks as any sign-in (MFA
included); ``approve`` then binds the device code to them and a workspace. Device codes,
user codes and their state live in the database, so any replica can answer any step.
Errors on the OAuth endpoints use RFC 6749's ``{"error", "error_description"}``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

import orjson

from tutela.admin.http import HttpError, Receive, Request, Response, Scope, Send, read_request
from tutela.identity import gateway_tokens
from tutela.identity.events import sign_in_event
from tutela.identity.sessions import digest, new_token
from tutela.store.database import utcnow

if TYPE_CHECKING:
    from tutela.gateway import Gateway

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CODE_SECONDS = 600
INTERVAL = 5
DEVICE_STARTS_PER_MINUTE = 20  # per client address
_USER_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 section 6.1: base-20, no vowels
PATHS = frozenset(
    {
        "/.well-known/oauth-authorization-server",
        "/oauth/device_authorization",
        "/oauth/token",
        "/managed/settings",
        "/v1/metrics",
        "/v1/logs",
        "/v1/traces",
    }
)


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response.json({"error": error, "error_description": description}, status)


def _anthropic_error(kind: str, message: str, status: int) -> Response:
    return Response.json({"type": "error", "error": {"type": kind, "message": message}}, status)


def new_user_code() -> str:
    chars = "".join(secrets.choice(_USER_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_user_code(value: str) -> str:
    letters = "".join(c for c in value.upper() if c in _USER_ALPHABET)
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else ""


class DeviceFlowApp:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    @property
    def base(self) -> str:
        return self.gateway.policy.identity.gateway_public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request = await read_request(scope, receive)
            response = await self.dispatch(request)
        except HttpError as exc:
            response = _oauth_error("invalid_request", exc.message, exc.status)
        await response.send(send)

    async def dispatch(self, request: Request) -> Response:
        settings = self.gateway.policy.identity.claude_code
        path, method = request.path, request.method
        if not settings.enabled:
            return _anthropic_error("not_found_error", f"no route for {method} {path}", 404)
        base = self._base(request)
        if path == "/.well-known/oauth-authorization-server" and method == "GET":
            return Response.json(
                {
                    "issuer": base,
                    "device_authorization_endpoint": f"{base}/oauth/device_authorization",
                    "token_endpoint": f"{base}/oauth/token",
                    "grant_types_supported": [DEVICE_GRANT, "refresh_token"],
                    "token_endpoint_auth_methods_supported": ["none"],
                    "response_types_supported": [],
                }
            )
        if path == "/oauth/device_authorization" and method == "POST":
            return await self._device_authorization(request)
        if path == "/oauth/token" and method == "POST":
            return await self._token(request)
        if path == "/managed/settings" and method == "GET":
            return await self._managed_settings(request)
        if path in ("/v1/metrics", "/v1/logs", "/v1/traces") and method == "POST":
            if await self._principal(request) is None:
                return _anthropic_error("authentication_error", "sign in again", 401)
            return Response.json({})  # accepted and discarded: tutela keeps its own audit
        return _anthropic_error("invalid_request_error", f"method {method} not allowed", 405)

    def _base(self, request: Request) -> str:
        if self.base:
            return self.base
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0]
        if name in ("127.0.0.1", "localhost"):
            return f"http://{host}"
        raise HttpError(503, "not_configured", "set identity.gateway_public_url")

    async def _device_authorization(self, request: Request) -> Response:
        # RFC 8628 section 5.2: unauthenticated, so rate-limited per client address
        from tutela.counters import Limit

        limit = Limit(
            kind="requests",
            scope="device",
            key=f"device:{request.client_ip}",
            amount=DEVICE_STARTS_PER_MINUTE,
        )
        refused = await self.gateway.counters.check([limit])
        if refused is not None:
            response = _oauth_error("slow_down", "too many sign-ins started from here", 429)
            response.headers.append(("retry-after", str(max(1, int(refused[1] + 0.999)))))
            return response
        admin_base = self.gateway.policy.identity.public_url
        if not admin_base:
            return _oauth_error(
                "server_error", "identity.public_url (the admin port's URL) is not set", 503
            )
        device_code = new_token("")
        user_code = new_user_code()
        expires = utcnow() + dt.timedelta(seconds=CODE_SECONDS)
        state = {"user_code": user_code, "status": "pending", "last_poll": 0.0}
        identity = self.gateway.identity
        await asyncio.to_thread(
            identity.put_nonce, "dc:" + digest(device_code), "device", json.dumps(state), expires
        )
        await asyncio.to_thread(
            identity.put_nonce, "uc:" + user_code, "user_code", digest(device_code), expires
        )
        verification = f"{admin_base}/sso/device"
        return Response.json(
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": verification,
                "verification_uri_complete": f"{verification}?user_code={user_code}",
                "expires_in": CODE_SECONDS,
                "interval": INTERVAL,
            }
        )

    async def _token(self, request: Request) -> Response:
        form = request.form()
        grant = form.get("grant_type", "")
        if grant == DEVICE_GRANT:
            return await self._device_grant(form.get("device_code", ""), request)
        if grant == "refresh_token":
            gateway = self.gateway
            try:
                issued = await asyncio.to_thread(
                    gateway_tokens.refresh,
                    gateway.store,
                    gateway.roles,
                    gateway.policy.identity.claude_code,
                    form.get("refresh_token", ""),
                    request.client_ip,
                )
            except gateway_tokens.TokenRefused as exc:
                await self._audit("token_refresh", "failure", "unknown", request, reason=str(exc))
                return _oauth_error("invalid_grant", str(exc), 401)
            await self._audit(
                "token_refresh", "success", issued.email, request, session_id=issued.session_id
            )
            return Response.json(issued.body())
        return _oauth_error("unsupported_grant_type", "use the device code or refresh grant")

    async def _device_grant(self, device_code: str, request: Request) -> Response:
        identity = self.gateway.identity
        key = "dc:" + digest(device_code)
        raw = await asyncio.to_thread(identity.peek_nonce, key, "device")
        if raw is None:
            return _oauth_error("expired_token", "the device code is unknown or expired")
        state = json.loads(raw)
        if state["status"] == "pending":
            now = time.time()
            slow = now - float(state.get("last_poll", 0.0)) < INTERVAL - 1
            updated = json.dumps({**state, "last_poll": now})
            await asyncio.to_thread(identity.update_nonce, key, "device", updated, raw)
            if slow:
                return _oauth_error("slow_down", "poll less often")
            return _oauth_error("authorization_pending", "waiting for the person to sign in")
        if state["status"] == "denied":
            await asyncio.to_thread(identity.take_nonce, key, "device")
            return _oauth_error("access_denied", state.get("reason", "sign-in refused"))
        # approved: the code is spent exactly once, whichever replica polls first
        if await asyncio.to_thread(identity.take_nonce, key, "device") is None:
            return _oauth_error("expired_token", "the device code was already used")
        gateway = self.gateway
        issued = await asyncio.to_thread(
            gateway_tokens.issue,
            gateway.store,
            gateway.policy.identity.claude_code,
            user_id=state["user_id"],
            email=state["email"],
            workspace_id=state["workspace_id"],
            provider=state["provider"],
            client_ip=request.client_ip,
            groups=tuple(state.get("groups", ())),
        )
        await self._audit(
            "token_issued",
            "success",
            issued.email,
            request,
            session_id=issued.session_id,
            provider=state["provider"],
        )
        return Response.json(issued.body())

    async def _principal(self, request: Request) -> Any:
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return await self.gateway.tokens.resolve(token.strip())

    async def _managed_settings(self, request: Request) -> Response:
        resolved = await self._principal(request)
        if resolved is None:
            return _anthropic_error("authentication_error", "sign in again", 401)
        settings, _ = self.gateway.policy.identity.claude_code.for_groups(resolved.groups)
        if settings is None:
            return _anthropic_error("not_found_error", "no managed settings", 404)
        body = orjson.dumps(settings, option=orjson.OPT_SORT_KEYS)
        checksum = "sha256:" + hashlib.sha256(body).hexdigest()
        if request.headers.get("if-none-match", "").strip('"') == checksum:
            return Response(status=304, headers=[("etag", f'"{checksum}"')])
        response = Response.json({"uuid": checksum, "checksum": checksum, "settings": settings})
        response.headers.append(("etag", f'"{checksum}"'))
        return response

    async def _audit(
        self,
        action: str,
        outcome: str,
        actor: str,
        request: Request,
        reason: str = "",
        session_id: str = "",
        provider: str = "",
    ) -> None:
        event = sign_in_event(
            action,
            outcome,
            actor=actor,
            source_ip=request.client_ip,
            provider=provider or "claude_code",
            reason=reason,
            session_id=session_id,
        )
        await asyncio.to_thread(self.gateway.store.append_audit, [event])


def approve(
    gateway: Gateway,
    user_code: str,
    *,
    user_id: str,
    email: str,
    provider: str,
    workspace_id: str,
    groups: tuple[str, ...] = (),
) -> bool:
    """Bind a pending device code to a signed-in person (synchronous; a worker thread)."""
    identity = gateway.identity
    device_key = identity.peek_nonce("uc:" + user_code, "user_code")
    if device_key is None:
        return False
    key = "dc:" + device_key
    raw = identity.peek_nonce(key, "device")
    if raw is None or json.loads(raw)["status"] != "pending":
        return False
    state = {
        **json.loads(raw),
        "status": "approved",
        "user_id": user_id,
        "email": email,
        "provider": provider,
        "workspace_id": workspace_id,
        "groups": list(groups),
    }
    if not identity.update_nonce(key, "device", json.dumps(state), raw):
        return False
    identity.take_nonce("uc:" + user_code, "user_code")
    return True


def deny(gateway: Gateway, user_code: str, reason: str) -> None:
    identity = gateway.identity
    device_key = identity.peek_nonce("uc:" + user_code, "user_code")
    if device_key is None:
        return
    key = "dc:" + device_key
    raw = identity.peek_nonce(key, "device")
    if raw is not None and json.loads(raw)["status"] == "pending":
        state = {**json.loads(raw), "status": "denied", "reason": reason[:200]}
        identity.update_nonce(key, "device", json.dumps(state), raw)


def pending(gateway: Gateway, user_code: str) -> bool:
    return gateway.identity.peek_nonce("uc:" + user_code, "user_code") is not None

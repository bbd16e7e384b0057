"""Sign-in on the admin port: OIDC, SAML, break-glass, sign-out.

Each path ends in ``identity.sign_in.complete_sign_in`` (MFA already checked here, then
JIT user, role mapping, session cookie). Every refusal is audited with the reason, the
source IP and the provider, and answered with a clear message that never repeats a code,
token, assertion or password.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
from typing import Any

import orjson

from tutela.admin.http import HttpError, Response
from tutela.admin.routes import Context
from tutela.identity import device_flow
from tutela.identity.events import sign_in_event
from tutela.identity.gateway_tokens import usable_workspace
from tutela.identity.oidc import OidcClient, OidcError, pkce_pair, random_token
from tutela.identity.sessions import session_cookie
from tutela.identity.sign_in import Assertion, SignInRefused, complete_sign_in, mfa_satisfied
from tutela.store.database import utcnow

FLOW_COOKIE = "tutela_sso_flow"
FLOW_SECONDS = 600


def _base_url(ctx: Context) -> str:
    """The admin port's external URL: ``identity.public_url``. Without it, only a loopback
    Host is trusted (a lab on one machine); anything else would let a forged Host header
    choose where identity providers send people back."""
    configured = ctx.gateway.policy.identity.public_url
    if configured:
        return configured
    host = ctx.request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    if name in ("127.0.0.1", "localhost", "[::1]"):
        return f"http://{host}"
    raise HttpError(
        503, "not_configured", "set identity.public_url to the admin port's external URL"
    )


async def _refuse(
    ctx: Context, provider: str, reason: str, actor: str = "unknown", status: int = 403
) -> Response:
    event = sign_in_event(
        "sign_in",
        "failure",
        actor=actor,
        source_ip=ctx.request.client_ip,
        provider=provider,
        reason=reason,
    )
    await asyncio.to_thread(ctx.gateway.store.append_audit, [event])
    return Response.error(status, "sign_in_refused", f"sign-in refused: {reason}")


async def _finish(
    ctx: Context, assertion: Assertion, *, clear_flow: bool = False, device: str = ""
) -> Response:
    gateway = ctx.gateway
    try:
        signed = await asyncio.to_thread(
            complete_sign_in,
            gateway.store,
            gateway.policy,
            gateway.roles,
            assertion,
            client_ip=ctx.request.client_ip,
            open_session=not device,
        )
    except SignInRefused as exc:
        if device:
            await asyncio.to_thread(device_flow.deny, gateway, device, exc.reason)
        return await _refuse(ctx, assertion.provider, exc.reason, exc.actor, exc.status)
    if device:
        return await _approve_device(ctx, signed.user, assertion, device)
    assert signed.session is not None
    response = Response.json(
        {
            "signed_in": signed.user.email,
            "provider": assertion.provider,
            "org_role": signed.user.org_role,
            "workspaces": signed.workspaces,
            "session_expires_at": signed.session.expires_at.isoformat(),
        }
    )
    response.headers.append(
        ("set-cookie", session_cookie(gateway.policy.identity.sessions, signed.token))
    )
    if clear_flow:
        response.headers.append(("set-cookie", f"{FLOW_COOKIE}=; Path=/sso/; Max-Age=0; HttpOnly"))
    return response


async def providers(ctx: Context) -> Response:
    sso = ctx.gateway.policy.sso
    return Response.json(
        {
            "oidc": [{"name": n, "login": f"/sso/oidc/{n}/login"} for n in sso.oidc],
            "saml": [{"name": n, "login": f"/sso/saml/{n}/login"} for n in sso.saml],
            "break_glass": ctx.gateway.policy.identity.break_glass.enabled,
        }
    )


# -- Claude Code device approval ---------------------------------------------------------

_DEVICE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>tutela: sign in Claude
Code</title></head><body><h1>Sign in Claude Code</h1><p>Check that your terminal shows this
code: <strong>{code}</strong>. Only continue if you started this sign-in yourself.</p>
<form method="post" action="/sso/device"><input type="hidden" name="user_code" value="{code}">
{buttons}</form></body></html>"""


def _html(body: str, status: int = 200) -> Response:
    response = Response(status=status, body=body.encode(), content_type="text/html; charset=utf-8")
    response.headers.append(("content-security-policy", "default-src 'none'; form-action 'self'"))
    response.headers.append(("x-frame-options", "DENY"))
    return response


async def device_page(ctx: Context) -> Response:
    """The page Claude Code opens: shows the code and asks for an explicit confirmation
    (RFC 8628 section 5.4: never auto-submit), then the identity provider to use."""
    import html

    code = device_flow.normalise_user_code(ctx.request.query.get("user_code", ""))
    if not code or not await asyncio.to_thread(device_flow.pending, ctx.gateway, code):
        return _html(
            "<p>This sign-in code is unknown or expired. Start again in Claude Code.</p>", 404
        )
    sso = ctx.gateway.policy.sso
    names = [f"oidc:{n}" for n in sso.oidc] + [f"saml:{n}" for n in sso.saml]
    buttons = "".join(
        f'<button name="provider" value="{html.escape(n)}">Continue with {html.escape(n)}</button>'
        for n in names
    )
    return _html(_DEVICE_PAGE.format(code=html.escape(code), buttons=buttons))


async def device_confirm(ctx: Context) -> Response:
    form = ctx.request.form()
    code = device_flow.normalise_user_code(form.get("user_code", ""))
    kind, _, name = form.get("provider", "").partition(":")
    sso = ctx.gateway.policy.sso
    if not code or not await asyncio.to_thread(device_flow.pending, ctx.gateway, code):
        return _html("<p>This sign-in code is unknown or expired.</p>", 404)
    if (kind == "oidc" and name in sso.oidc) or (kind == "saml" and name in sso.saml):
        return Response(
            status=303,
            content_type="text/plain",
            headers=[("location", f"/sso/{kind}/{name}/login?device={code}")],
        )
    return _html("<p>Unknown identity provider.</p>", 400)


async def _approve_device(ctx: Context, user: Any, assertion: Assertion, code: str) -> Response:
    gateway = ctx.gateway
    provider = assertion.provider
    workspace = await asyncio.to_thread(
        usable_workspace,
        gateway.identity,
        gateway.store,
        gateway.roles,
        user.id,
        gateway.policy.identity.claude_code.default_workspace,
    )
    if workspace is None:
        reason = "you have no role in any workspace that may use Claude"
        await asyncio.to_thread(device_flow.deny, gateway, code, reason)
        return await _refuse(ctx, provider, reason, user.email)
    approved = await asyncio.to_thread(
        device_flow.approve,
        gateway,
        code,
        user_id=user.id,
        email=user.email,
        provider=provider,
        workspace_id=workspace,
        groups=assertion.groups,
    )
    if not approved:
        return await _refuse(
            ctx, provider, "the sign-in code is unknown, expired or used", user.email, 400
        )
    event = sign_in_event(
        "device_approved",
        "success",
        actor=user.email,
        source_ip=ctx.request.client_ip,
        provider=provider,
    )
    await asyncio.to_thread(gateway.store.append_audit, [event])
    return _html(
        "<p>Claude Code is signed in. You can close this window and return to your terminal.</p>"
    )


def _device_param(ctx: Context) -> str:
    raw = ctx.request.query.get("device", "")
    if not raw:
        return ""
    code = device_flow.normalise_user_code(raw)
    if not code or not ctx.gateway.policy.identity.claude_code.enabled:
        raise HttpError(400, "invalid_request", "unknown sign-in code")
    return code


# -- OIDC -------------------------------------------------------------------------------


def oidc_client(ctx: Context) -> OidcClient:
    name = ctx.params["provider"]
    settings = ctx.gateway.policy.sso.oidc.get(name)
    if settings is None:
        raise HttpError(404, "not_found", f"no OIDC provider named {name!r}")
    clients: dict[str, Any] = ctx.gateway.sso_clients
    client = clients.get(f"oidc:{name}")
    if client is None:
        secret = (
            os.environ.get(settings.client_secret_env, "") if settings.client_secret_env else ""
        )
        if settings.client_secret_env and not secret:
            raise HttpError(
                503,
                "not_configured",
                f"OIDC provider {name!r}: ${settings.client_secret_env} is not set",
            )
        client = OidcClient(
            name,
            settings,
            redirect_uri=f"{_base_url(ctx)}/sso/oidc/{name}/callback",
            client_secret=secret,
        )
        clients[f"oidc:{name}"] = client
    assert isinstance(client, OidcClient)
    return client


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


async def oidc_login(ctx: Context) -> Response:
    client = oidc_client(ctx)
    device = _device_param(ctx)
    state, nonce, browser = random_token(), random_token(), random_token()
    verifier, challenge = pkce_pair()
    redirect_uri = f"{_base_url(ctx)}/sso/oidc/{client.name}/callback"
    try:
        url = await client.authorization_url(
            state=state, nonce=nonce, code_challenge=challenge, redirect_uri=redirect_uri
        )
    except OidcError as exc:
        return await _refuse(ctx, f"oidc:{client.name}", str(exc), status=502)
    data = json.dumps(
        {
            "provider": client.name,
            "nonce": nonce,
            "verifier": verifier,
            "browser": _sha(browser),
            "redirect_uri": redirect_uri,
            "device": device,
        }
    )
    expires = utcnow() + dt.timedelta(seconds=FLOW_SECONDS)
    await asyncio.to_thread(
        ctx.gateway.identity.put_nonce, "oidc:" + _sha(state), "oidc", data, expires
    )
    response = Response.redirect(url)
    secure = "; Secure" if ctx.gateway.policy.identity.sessions.cookie_secure else ""
    response.headers.append(
        (
            "set-cookie",
            f"{FLOW_COOKIE}={browser}; Path=/sso/; Max-Age={FLOW_SECONDS}; HttpOnly; SameSite=Lax{secure}",
        )
    )
    return response


async def oidc_callback(ctx: Context) -> Response:
    client = oidc_client(ctx)
    provider = f"oidc:{client.name}"
    query = ctx.request.query
    if "error" in query:
        reason = f"the identity provider returned {query['error'][:80]!r}"
        return await _refuse(ctx, provider, reason)
    state, code = query.get("state", ""), query.get("code", "")
    if not state or not code:
        return await _refuse(ctx, provider, "the callback lacks code or state", status=400)
    raw = await asyncio.to_thread(ctx.gateway.identity.take_nonce, "oidc:" + _sha(state), "oidc")
    if raw is None:
        return await _refuse(
            ctx, provider, "unknown, expired or already used sign-in state", status=400
        )
    flow = json.loads(raw)
    browser = ctx.request.cookies.get(FLOW_COOKIE, "")
    if flow.get("provider") != client.name or not hmac.compare_digest(
        _sha(browser), str(flow.get("browser"))
    ):
        return await _refuse(
            ctx, provider, "the sign-in was started in another browser", status=400
        )
    device = str(flow.get("device") or "")
    response = await _oidc_complete(ctx, client, flow, code, device)
    if device and response.status >= 400:  # tell the polling Claude Code, too
        try:
            reason = str(orjson.loads(response.body)["error"]["message"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            reason = "sign-in refused"
        await asyncio.to_thread(device_flow.deny, ctx.gateway, device, reason)
    return response


async def _oidc_complete(
    ctx: Context, client: OidcClient, flow: dict[str, Any], code: str, device: str
) -> Response:
    provider = f"oidc:{client.name}"
    query = ctx.request.query
    issuer = query.get("iss")
    if issuer is not None and issuer.rstrip("/") != client.settings.issuer:  # RFC 9207
        return await _refuse(ctx, provider, "the callback names another issuer", status=400)
    try:
        id_token = await client.exchange_code(code, flow["verifier"], flow.get("redirect_uri"))
        claims = await client.verify_id_token(id_token, nonce=flow["nonce"])
    except OidcError as exc:
        return await _refuse(ctx, provider, str(exc))
    settings = client.settings
    email = claims.get(settings.email_claim)
    if not isinstance(email, str) or claims.get("email_verified") is False:
        return await _refuse(ctx, provider, "the identity provider sent no verified email")
    amr = claims.get("amr") or []
    amr = tuple(str(m) for m in amr) if isinstance(amr, list) else ()
    acr = str(claims.get("acr") or "")
    mfa = mfa_satisfied(amr, acr, settings.mfa_amr, settings.mfa_acr)
    if settings.require_mfa and not mfa:
        return await _refuse(
            ctx,
            provider,
            "multi-factor authentication is required; your identity provider reported "
            f"amr={list(amr)} acr={acr!r}. Sign in again with MFA.",
            actor=email.lower(),
        )
    groups = claims.get(settings.groups_claim) or []
    groups = tuple(str(g) for g in groups) if isinstance(groups, list) else (str(groups),)
    return await _finish(
        ctx,
        Assertion(
            provider=provider,
            subject=str(claims["sub"]),
            email=email,
            name=str(claims.get("name") or ""),
            groups=groups,
            amr=amr,
            mfa=mfa,
        ),
        clear_flow=True,
        device=device,
    )


# -- SAML -------------------------------------------------------------------------------


async def saml_metadata(ctx: Context) -> Response:
    from tutela.identity import saml

    sp = saml.service_provider(ctx.gateway, ctx.params["provider"], _base_url(ctx))
    return Response(body=sp.metadata(), content_type="application/samlmetadata+xml")


async def saml_login(ctx: Context) -> Response:
    from tutela.identity import saml

    sp = saml.service_provider(ctx.gateway, ctx.params["provider"], _base_url(ctx))
    device = _device_param(ctx)
    request_id, url = await asyncio.to_thread(sp.login_redirect)
    expires = utcnow() + dt.timedelta(seconds=FLOW_SECONDS)
    data = json.dumps({"provider": sp.name, "device": device})
    await asyncio.to_thread(
        ctx.gateway.identity.put_nonce, "saml:" + request_id, "saml", data, expires
    )
    return Response.redirect(url)


async def saml_acs(ctx: Context) -> Response:
    from tutela.identity import saml

    sp = saml.service_provider(ctx.gateway, ctx.params["provider"], _base_url(ctx))
    provider = f"saml:{sp.name}"
    form = ctx.request.form()
    try:
        assertion, pending = await asyncio.to_thread(
            sp.accept, form.get("SAMLResponse", ""), ctx.gateway.identity
        )
    except saml.SamlError as exc:
        return await _refuse(ctx, provider, str(exc), actor=exc.actor)
    try:
        device = str(json.loads(pending).get("device") or "")
    except (ValueError, AttributeError):
        device = ""
    return await _finish(ctx, assertion, device=device)


# -- break-glass and sign-out ---------------------------------------------------------------


async def break_glass(ctx: Context) -> Response:
    from tutela.identity import break_glass as glass

    if not ctx.gateway.policy.identity.break_glass.enabled:
        return await _refuse(ctx, "break_glass", "break-glass sign-in is disabled by policy")
    body = ctx.request.json()
    email = str(body.get("email", ""))[:320].lower()
    try:
        await asyncio.to_thread(
            glass.verify,
            ctx.gateway.identity,
            email,
            str(body.get("password", "")),
            str(body.get("totp", "")),
        )
    except glass.BreakGlassRefused as exc:
        return await _refuse(ctx, "break_glass", str(exc), actor=email or "unknown", status=401)
    return await _finish(
        ctx,
        Assertion(provider="break_glass", subject=email, email=email, amr=("pwd", "otp"), mfa=True),
    )


async def logout(ctx: Context) -> Response:
    actor = ctx.who
    if actor.session_id:
        await asyncio.to_thread(ctx.gateway.identity.revoke_session, actor.session_id)
    event = sign_in_event(
        "sign_out",
        "success",
        actor=actor.label,
        source_ip=ctx.request.client_ip,
        provider=actor.provider,
        session_id=actor.session_id,
    )
    await asyncio.to_thread(ctx.gateway.store.append_audit, [event])
    response = Response.json({"signed_out": actor.label})
    response.headers.append(
        ("set-cookie", session_cookie(ctx.gateway.policy.identity.sessions, "", clear=True))
    )
    return response

"""The running gateway: the policy, store, authenticator, pipeline and upstreams, wired once.

Both ASGI apps (gateway port and admin port) share one ``Gateway``. It starts background
work (batched writer) on first start and flushes everything on stop, so no usage record or
audit event is lost on a clean shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Any

import orjson

from tutela.audit.chain import Signer
from tutela.audit.content import ContentVault
from tutela.audit.events import GuardFinding, PolicyChange, request_event
from tutela.audit.export.base import Exporter
from tutela.audit.journal import Journal
from tutela.audit.writer import AuditUnavailable, AuditWriter
from tutela.counters import make_counters
from tutela.errors import ErrorKind, GatewayError
from tutela.identity.api_keys import ApiKeyAuthenticator
from tutela.identity.device_flow import DeviceFlowApp
from tutela.identity.gateway_tokens import ACCESS_PREFIX, GatewayTokenAuthenticator
from tutela.identity.revocation import RevocationListener, announce
from tutela.identity.roles import Roles
from tutela.logs import AccessLog
from tutela.metrics import Metrics
from tutela.pipeline import default_guards
from tutela.policy import Policy
from tutela.store.database import KeyRecord, Store
from tutela.store.identity import IdentityStore
from tutela.types import Exchange, Principal
from tutela.upstream.base import Upstream
from tutela.upstream.registry import build_upstreams

log = logging.getLogger("tutela.gateway")


class Gateway:
    def __init__(self, policy: Policy, store: Store) -> None:
        self.policy = policy
        self.store = store
        self.authenticator = ApiKeyAuthenticator(store, ttl=policy.identity.keys.cache_seconds)
        self.roles = Roles.from_policy(policy)
        self.identity = IdentityStore(store)
        self.revocations: RevocationListener | None = None
        self.sso_clients: dict[str, object] = {}  # OIDC clients / SAML SPs, built on first use
        self.tokens = GatewayTokenAuthenticator(
            store, self.roles, policy.identity.claude_code, ttl=policy.identity.keys.cache_seconds
        )
        self.device_flow = DeviceFlowApp(self)
        self.counters = make_counters(policy.guards.rate_limits.backend, policy.redis_url())
        self.pipeline = default_guards(policy, self)
        self.upstreams: dict[str, Upstream] = build_upstreams(policy)
        self.metrics = Metrics()
        self.writer: AuditWriter | None = None
        self.signer: Signer | None = None
        self.exporters: list[Exporter] = []
        self.content: ContentVault | None = None
        self._content_workspaces = frozenset(
            name for name, ws in policy.workspaces.items() if ws.content_logging
        )
        self._started = False
        self._stopped = False
        self._lock = asyncio.Lock()
        self.access_log = AccessLog() if policy.logging.access_log else None
        self._log_flusher: asyncio.Task[None] | None = None

    async def start(self, *, exporters: bool = True) -> None:
        """Start background work. ``exporters``: also deliver to SIEM sinks (one process
        of a multi-worker gateway does this)."""
        async with self._lock:
            if self._started:
                return
            audit = self.policy.audit
            self.signer = await asyncio.to_thread(
                Signer.load, env=audit.signing_key_env, path=audit.key_path(self.store.url)
            )
            await asyncio.to_thread(self._record_policy)
            if self._content_workspaces:  # fails at start, never silently per request
                self.content = ContentVault.from_env(self.store, audit.content_master_key_env)
            self.writer = AuditWriter(
                self.store,
                signer=self.signer,
                checkpoint_every_events=audit.checkpoint_every_events,
                checkpoint_every_seconds=audit.checkpoint_every_seconds,
                touched=self.authenticator.take_touched,
                journal=Journal(audit.journal_path(self.store.url)) if audit.journal else None,
            )
            await asyncio.to_thread(self.writer.start_replay)
            self.writer.start()
            redis_url = self.policy.redis_url()
            if redis_url:
                self.revocations = RevocationListener(redis_url, self._heard_revocation)
                self.revocations.start()
            if exporters:
                from tutela.audit.export import build_exporters

                self.exporters = build_exporters(self.policy, self.store, self.metrics)
                for exporter in self.exporters:
                    exporter.start()
            if self.access_log is not None:
                self._log_flusher = asyncio.get_running_loop().create_task(self._flush_logs())
            self._started = True

    async def stop(self) -> None:
        async with self._lock:
            if self._stopped or not self._started:
                return
            self._stopped = True
            for upstream in self.upstreams.values():
                with contextlib.suppress(Exception):
                    await upstream.close()
            with contextlib.suppress(Exception):
                await self.counters.close()
            if self.revocations is not None:
                await self.revocations.close()
            if self.writer is not None:
                await self.writer.close()
            for exporter in self.exporters:
                await exporter.close(drain_for=5.0)
            if self._log_flusher is not None:
                self._log_flusher.cancel()
            if self.access_log is not None:
                self.access_log.flush()

    def _heard_revocation(self, kind: str, ident: str) -> None:
        if kind == "key":
            self.authenticator.forget(ident)
        elif kind in ("user", "session"):
            self.tokens.forget_all()

    async def revoke_user(self, user_id: str) -> None:
        """End every session and gateway token of a person, here and on every replica."""
        await asyncio.to_thread(self.identity.revoke_user_sessions, user_id)
        self.tokens.forget_all()
        await asyncio.to_thread(announce, self.policy.redis_url(), "user", user_id)

    async def revoke_key(self, key_id: str, workspace_id: str | None) -> KeyRecord | None:
        """Revoke in the database, forget it here, and tell every other replica."""
        record = await asyncio.to_thread(self.store.revoke_key, key_id, workspace_id)
        if record is not None:
            self.authenticator.forget(key_id)
            await asyncio.to_thread(announce, self.policy.redis_url(), "key", key_id)
        return record

    async def _flush_logs(self) -> None:
        assert self.access_log is not None
        while True:
            await asyncio.sleep(0.05)
            with contextlib.suppress(OSError):  # a closed stderr must not stop the gateway
                self.access_log.flush()

    async def authenticate(self, headers: dict[str, str]) -> Principal:
        presented = headers.get("x-api-key")
        if presented is None:
            authorization = headers.get("authorization", "")
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                presented = token.strip()
        if not presented:
            raise GatewayError(
                ErrorKind.AUTHENTICATION,
                "missing API key: send it in the x-api-key header or as Authorization: Bearer",
            )
        if presented.startswith(ACCESS_PREFIX):  # Claude Code signed in through SSO
            principal = await self.tokens.authenticate(presented)
            if principal is None:
                raise GatewayError(
                    ErrorKind.AUTHENTICATION, "invalid or expired gateway token: sign in again"
                )
            return principal
        principal = await self.authenticator.authenticate(presented)
        if principal is None:
            # Never echo what was presented: it may be a real secret for something else.
            raise GatewayError(ErrorKind.AUTHENTICATION, "invalid, expired or revoked API key")
        if not self.policy.keys_allowed(principal.workspace):
            raise GatewayError(
                ErrorKind.PERMISSION,
                f"workspace {principal.workspace!r} requires interactive sign-in; "
                "API keys are refused there",
            )
        return principal

    def upstream_for(self, principal: Principal) -> Upstream:
        return self.upstreams[self.policy.upstream_for(principal.workspace)]

    def _record_policy(self) -> None:
        """A ``policy.loaded`` event when the effective policy differs from the last one
        recorded (its SHA-256 over canonical JSON: comments and layout do not count)."""
        digest = hashlib.sha256(
            orjson.dumps(self.policy.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        ).hexdigest()
        last = self.store.search_audit(event_type="policy.loaded", limit=1)
        before = last[0]["event"]["entity_result"]["data"] if last else None
        if before is not None and before.get("sha256") == digest:
            return
        self.store.append_audit(
            [
                PolicyChange(
                    activity="loaded",
                    entity_uid="policy",
                    entity_name="tutela policy",
                    before=before,
                    after={"sha256": digest},
                )
            ]
        )

    def logs_content(self, principal: Principal) -> bool:
        return self.content is not None and principal.workspace in self._content_workspaces

    def _seal_content(self, exchange: Exchange) -> tuple[dict[str, Any] | None, str]:
        """The encrypted content row of an exchange whose workspace logs content."""
        principal = exchange.principal
        if self.content is None or principal is None or not exchange.scratch.get("log_content"):
            return None, ""
        response = b"".join(exchange.scratch.get("content_response", ()))
        plaintext = orjson.dumps(
            {
                "request": exchange.raw_body.decode("utf-8", "replace"),
                "response": response.decode("utf-8", "replace"),
            }
        )
        return self.content.content_row(principal.workspace_id, exchange.request_id, plaintext)

    async def settle(self, exchange: Exchange) -> None:
        """Settle the exchange and, when responses are durable (the default), wait until
        its audit event is committed: called just before the response is released."""
        future = self.record(exchange)
        if exchange.scratch.get("audit_failed") and self.policy.audit.durable_responses:
            self.metrics.audit_withheld.inc()
            raise GatewayError(
                ErrorKind.API_ERROR,
                "the audit trail could not record this response, so it was withheld",
            )
        if future is None or not self.policy.audit.durable_responses:
            return
        assert self.writer is not None
        try:
            async with asyncio.timeout(self.writer.durable_timeout):
                await asyncio.shield(future)
        except (TimeoutError, AuditUnavailable):
            self.metrics.audit_withheld.inc()
            raise GatewayError(
                ErrorKind.API_ERROR,
                "the audit trail could not record this response in time, so it was withheld",
            ) from None

    def record(self, exchange: Exchange) -> asyncio.Future[int] | None:
        """Settle the exchange's guards and queue its audit event and usage row, once.
        Returns the future of the event's commit (None if already recorded)."""
        scratch = exchange.scratch
        if "recorded" in scratch:
            return None
        scratch["recorded"] = True
        self.pipeline.finish(exchange)
        now_ns = time.perf_counter_ns()
        seconds = (now_ns - exchange.started_ns) / 1e9
        duration_ms = int(seconds * 1000)
        if exchange.outcome == "pending":
            exchange.outcome = "failed"
        principal = exchange.principal
        usage = exchange.usage
        event = request_event(exchange, duration_ms)
        content_row, event.content_sha256 = self._seal_content(exchange)
        writer = self.writer
        future: asyncio.Future[int] | None = None
        if writer is not None:
            for record in exchange.records:
                if record.action == "block" or record.error:
                    writer.add_event(
                        GuardFinding(
                            activity="created",
                            actor=event.actor,
                            workspace_id=event.workspace_id,
                            src_ip=exchange.client_ip,
                            title=record.reason[:200],
                            rule=f"guard.{record.guard}",
                            action="error" if record.error else record.action,
                            classes=list(record.classes),
                            request_id=exchange.request_id,
                            severity=3 if record.error else 4,
                        )
                    )
            usage_row = {
                "request_id": exchange.request_id,
                "ts": event.time,
                "workspace_id": principal.workspace_id if principal else None,
                "key_id": principal.key_id if principal else None,
                "endpoint": exchange.endpoint,
                "model": exchange.model[:200],
                "status": exchange.status,
                "outcome": exchange.outcome,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                "cache_read_input_tokens": usage.cache_read_input_tokens,
                "duration_ms": duration_ms,
            }
            try:
                future = writer.submit(event, usage_row, content=content_row)
            except AuditUnavailable as exc:  # fail closed: settle withholds the response
                scratch["audit_failed"] = True
                log.error(
                    "audit event not recorded",
                    extra={"request_id": exchange.request_id, "error": str(exc)},
                )
            self.metrics.audit_backlog.set(writer.backlog)
        return future

    def finish(self, exchange: Exchange) -> None:
        """After the response: record it if that has not happened yet, then the metrics
        and the access log line, once. Off the path the client waits on."""
        self.record(exchange)
        scratch = exchange.scratch
        if "finished" in scratch:
            return
        scratch["finished"] = True
        seconds = (time.perf_counter_ns() - exchange.started_ns) / 1e9
        principal = exchange.principal
        usage = exchange.usage
        metrics = self.metrics
        metrics.request(exchange.endpoint, exchange.status, exchange.outcome, seconds)
        if usage.input_tokens or usage.output_tokens:
            metrics.input_tokens.inc(usage.total_input)
            metrics.output_tokens.inc(usage.output_tokens)
        upstream_started = exchange.scratch.get("upstream_started_ns")
        if upstream_started:
            metrics.overhead.observe((upstream_started - exchange.started_ns) / 1e9)
        if exchange.injection is not None:
            metrics.injection(exchange.injection)
        for record in exchange.records:
            if record.action != "allow" or record.error:
                metrics.guard_actions.labels(
                    record.guard, "error" if record.error else record.action
                ).inc()
        if self.access_log is not None:
            self.access_log.write(
                {
                    "request_id": exchange.request_id,
                    "key_id": principal.key_id if principal else None,
                    "workspace": principal.workspace if principal else None,
                    "endpoint": exchange.endpoint,
                    "model": exchange.model[:200],
                    "stream": exchange.stream,
                    "status": exchange.status,
                    "outcome": exchange.outcome,
                    "error_type": exchange.error_type or None,
                    "duration_ms": round(seconds * 1000, 2),
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                }
            )

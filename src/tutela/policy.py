"""The policy file (``tutela.yaml``): typed, validated, with file:line:key in every error.

Policy is code: one YAML file holds listeners, upstreams, workspaces and guard settings.
Secrets never live in it: fields ending in ``_env`` name the environment variable that
holds the secret. Unknown keys are errors, so a typo cannot silently weaken a control.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tutela.errors import ConfigError

OnError = Literal["block", "allow"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Listener(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)]


class Timeouts(_Strict):
    """Seconds. ``first_byte`` bounds the wait for response headers from upstream."""

    connect: Annotated[float, Field(gt=0)] = 5.0
    first_byte: Annotated[float, Field(gt=0)] = 120.0
    idle: Annotated[float, Field(gt=0)] = 300.0
    total: Annotated[float, Field(gt=0)] = 900.0


class Retries(_Strict):
    """Retries happen only before the first byte reached the client."""

    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    backoff_initial: Annotated[float, Field(ge=0)] = 0.25
    backoff_max: Annotated[float, Field(ge=0)] = 8.0
    retry_on: tuple[int, ...] = (429, 500, 502, 503, 504, 529)


class CircuitBreakerSettings(_Strict):
    failure_threshold: Annotated[int, Field(ge=1)] = 5
    reset_after: Annotated[float, Field(gt=0)] = 30.0


class UpstreamSettings(_Strict):
    type: Literal["anthropic", "offline"]
    base_url: str = "https://api.anthropic.com"
    api_key_env: str = "ANTHROPIC_API_KEY"
    region: str = ""
    timeouts: Timeouts = Timeouts()
    retries: Retries = Retries()
    circuit_breaker: CircuitBreakerSettings = CircuitBreakerSettings()
    max_connections: Annotated[int, Field(ge=1)] = 256

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")


class WorkspaceSettings(_Strict):
    upstream: str | None = None
    content_logging: bool = False
    interactive_only: bool = False  # people signed in only: API keys are refused here


class LimitsSettings(_Strict):
    """Request size and shape limits (Anthropic's own cap for Messages is 32 MB)."""

    enabled: bool = True
    on_error: OnError = "block"
    max_body_bytes: Annotated[int, Field(ge=1)] = 32 * 1024 * 1024
    max_messages: Annotated[int, Field(ge=1)] = 10_000
    max_tokens_cap: Annotated[int, Field(ge=1)] = 128_000
    max_tools: Annotated[int, Field(ge=0)] = 512
    allowed_models: tuple[str, ...] = ()


class RateLimit(_Strict):
    requests_per_minute: Annotated[int, Field(ge=0)] = 0
    tokens_per_minute: Annotated[int, Field(ge=0)] = 0
    tokens_per_day: Annotated[int, Field(ge=0)] = 0


class RateLimitSettings(_Strict):
    """Zero means unlimited. ``backend: redis`` shares counters across replicas."""

    enabled: bool = True
    on_error: OnError = "block"
    backend: Literal["memory", "redis"] = "memory"
    per_key: RateLimit = RateLimit(requests_per_minute=600)
    per_workspace: RateLimit = RateLimit()


DlpAction = Literal["allow", "mask", "redact", "pseudonymise", "pseudonymize", "block"]

DEFAULT_DLP_ACTIONS: dict[str, DlpAction] = {
    "secret.*": "block",
    "secret.password": "redact",
    "secret.generic": "redact",
    "fin.*": "pseudonymise",
    "phi.*": "pseudonymise",
    "pii.*": "pseudonymise",
    "pii.person": "allow",
    "pii.location": "allow",
    "pii.date_of_birth": "allow",
    "net.*": "allow",
    "*": "allow",
}
"""Secure by default without breaking ordinary prompts: credentials never leave (keys with
a known format block the request; passwords and high-entropy assignments, found by context,
are redacted so a false positive does not refuse the request); card,
bank, health and identity numbers, emails and phones are pseudonymised and restored in the
answer; names, addresses, dates of birth and network addresses are counted in the audit
record but allowed (their detectors are context-based and less precise on free prose)."""


class DlpScope(_Strict):
    """Action overrides for one workspace or role (``roles`` only inside a workspace)."""

    actions: dict[str, DlpAction] = Field(default_factory=dict)


class DlpWorkspace(_Strict):
    actions: dict[str, DlpAction] = Field(default_factory=dict)
    roles: dict[str, DlpScope] = Field(default_factory=dict)


class DlpCustomDetector(_Strict):
    """A policy-file detector, keyed by the class it reports (``custom.employee_id``)."""

    pattern: str
    validator: str | None = None
    context: tuple[str, ...] = ()
    score: Annotated[float, Field(ge=0, le=1)] = 0.9
    caseless: bool = False


class DlpKeywords(_Strict):
    words: tuple[str, ...]
    caseless: bool = True
    score: Annotated[float, Field(ge=0, le=1)] = 0.9


class DlpSettings(_Strict):
    """Data protection: what to look for and what to do about it, by finding class."""

    enabled: bool = True
    on_error: OnError = "block"
    classes: tuple[str, ...] = ("*",)
    disabled_classes: tuple[str, ...] = ()
    internal_domains: tuple[str, ...] = ()
    min_score: Annotated[float, Field(ge=0, le=1)] = 0.5
    engine: Literal["auto", "hyperscan", "python"] = "auto"
    actions: dict[str, DlpAction] = Field(default_factory=lambda: dict(DEFAULT_DLP_ACTIONS))
    workspaces: dict[str, DlpWorkspace] = Field(default_factory=dict)
    roles: dict[str, DlpScope] = Field(default_factory=dict)
    custom: dict[str, DlpCustomDetector] = Field(default_factory=dict)
    keywords: dict[str, DlpKeywords] = Field(default_factory=dict)
    edm_files: tuple[str, ...] = ()
    edm_pepper_env: str = "TUTELA_EDM_PEPPER"
    cache_entries: Annotated[int, Field(ge=0, le=1_000_000)] = 8192

    @field_validator("actions")
    @classmethod
    def _over_the_defaults(cls, value: dict[str, DlpAction]) -> dict[str, DlpAction]:
        # Merged over the built-in map, so naming one class never drops ``secret.*: block``.
        return {**DEFAULT_DLP_ACTIONS, **value}

    @model_validator(mode="after")
    def _custom_detectors_compile(self) -> DlpSettings:
        import re

        from tutela.detectors.validators import VALIDATORS

        for cls, custom in self.custom.items():
            if custom.validator is not None and custom.validator not in VALIDATORS:
                raise ValueError(
                    f"custom.{cls}.validator {custom.validator!r} is unknown; choose one of: "
                    + ", ".join(sorted(VALIDATORS))
                )
            try:
                re.compile(custom.pattern)
            except re.error as exc:
                raise ValueError(f"custom.{cls}.pattern is not a valid regex: {exc}") from None
        for cls, keywords in self.keywords.items():
            if not any(keywords.words):
                raise ValueError(f"keywords.{cls}.words must not be empty")
        return self


InjectionAction = Literal["allow", "flag", "spotlight", "block"]
InjectionSourceName = Literal["user", "document", "tool_result"]


class InjectionSource(_Strict):
    """What to do when text from one source scores at or above ``threshold``; a score at
    or above ``block_threshold`` (when set) blocks whatever ``action`` says."""

    threshold: Annotated[float, Field(ge=0, le=1)]
    action: InjectionAction
    block_threshold: Annotated[float, Field(ge=0, le=1)] | None = None

    @model_validator(mode="after")
    def _block_threshold_above_threshold(self) -> InjectionSource:
        if self.block_threshold is not None and self.block_threshold < self.threshold:
            raise ValueError(
                f"block_threshold ({self.block_threshold}) must not be below "
                f"threshold ({self.threshold})"
            )
        return self

    def action_for(self, score: float) -> InjectionAction:
        """The action for a flagged score (one at or above ``threshold``)."""
        if self.block_threshold is not None and score >= self.block_threshold:
            return "block"
        return self.action


class InjectionScope(_Strict):
    """Per-workspace overrides; unset fields keep the ``guards.injection`` value."""

    user: InjectionSource | None = None
    document: InjectionSource | None = None
    tool_result: InjectionSource | None = None
    spotlight_all: bool | None = None
    canary: bool | None = None


class InjectionSettings(_Strict):
    """Prompt-injection detection on requests, spotlighting, canary tokens.

    A user's own words are flagged (audited) by default. Text in ``document`` and
    ``tool_result`` blocks is untrusted and scanned block by block with a lower threshold,
    in two tiers: a near-certain injection is blocked; a suspicious document is spotlighted
    and a suspicious tool result flagged (datamarking would rewrite the whitespace of the
    files a coding agent reads, and blocking at the lower threshold refused 1.3% of
    ordinary file reads, see docs/guards/injection.md). ``spotlight_all`` delimits and datamarks every untrusted block
    whatever its score; ``canary`` plants a per-workspace secret in the system prompt and
    blocks responses that reveal it.
    """

    enabled: bool = True
    on_error: OnError = "block"
    user: InjectionSource = InjectionSource(threshold=0.90, action="flag")
    document: InjectionSource = InjectionSource(
        threshold=0.75, action="spotlight", block_threshold=0.97
    )
    tool_result: InjectionSource = InjectionSource(
        threshold=0.75, action="flag", block_threshold=0.99
    )
    spotlight_all: bool = False
    # A PDF document whose text cannot be read (damaged, or locked with a password) was
    # not scanned: flagged (audited) by default, or blocked.
    unreadable_pdf: Literal["flag", "block"] = "flag"
    canary: bool = False
    canary_action: Literal["flag", "block"] = "block"
    canary_secret_env: str = "TUTELA_CANARY_SECRET"  # noqa: S105 - a variable name
    workspaces: dict[str, InjectionScope] = Field(default_factory=dict)

    def source(self, name: InjectionSourceName, workspace: str = "") -> InjectionSource:
        scope = self.workspaces.get(workspace)
        found = getattr(scope, name) if scope is not None else None
        return found if found is not None else getattr(self, name)  # type: ignore[no-any-return]

    def spotlights_all(self, workspace: str = "") -> bool:
        scope = self.workspaces.get(workspace)
        if scope is not None and scope.spotlight_all is not None:
            return scope.spotlight_all
        return self.spotlight_all

    def plants_canary(self, workspace: str = "") -> bool:
        scope = self.workspaces.get(workspace)
        if scope is not None and scope.canary is not None:
            return scope.canary
        return self.canary


class OutputTools(_Strict):
    """Tool calls the model may make: names (empty: any) and a JSON Schema per tool's input."""

    allow: tuple[str, ...] = ()
    schemas: dict[str, dict[str, Any]] = Field(default_factory=dict)


OutputAction = Literal["allow", "annotate", "block"]


class OutputScope(_Strict):
    tools: OutputTools | None = None
    allowed_domains: tuple[str, ...] | None = None
    response_schema: dict[str, Any] | None = None


class OutputSettings(_Strict):
    """Output validation before the client acts on a response (JSON and streams).

    Tool calls are checked against ``tools`` (allow-list, then the tool's argument schema)
    and acted on with ``tool_action``. In text, a markdown image (fetched by the client
    unasked) or a link to a domain outside ``allowed_domains`` that carries data (a query
    string, a fragment or a long path segment) is a possible exfiltration:
    ``image_action`` and ``link_action`` decide. ``block`` refuses the response (a stream
    ends with an ``error`` event); ``annotate`` lets it through and records the verdict in
    the audit trail. ``response_schema`` (per workspace too) is a JSON Schema the final
    answer's text must parse into, for applications that expect structured output.
    Answers are also scanned with the data-protection engine for ``sensitive_classes``
    (credentials by default), acted on with ``sensitive_action``.
    """

    enabled: bool = True
    on_error: OnError = "block"
    tools: OutputTools = OutputTools()
    tool_action: OutputAction = "block"
    allowed_domains: tuple[str, ...] = ()
    image_action: OutputAction = "block"
    link_action: OutputAction = "annotate"
    response_schema: dict[str, Any] | None = None
    schema_action: OutputAction = "block"
    sensitive_classes: tuple[str, ...] = ("secret.*",)
    sensitive_action: OutputAction = "annotate"
    workspaces: dict[str, OutputScope] = Field(default_factory=dict)

    def schema_for(self, workspace: str = "") -> dict[str, Any] | None:
        scope = self.workspaces.get(workspace)
        if scope is not None and scope.response_schema is not None:
            return scope.response_schema
        return self.response_schema

    def tools_for(self, workspace: str = "") -> OutputTools:
        scope = self.workspaces.get(workspace)
        return scope.tools if scope is not None and scope.tools is not None else self.tools

    def domains_for(self, workspace: str = "") -> tuple[str, ...]:
        scope = self.workspaces.get(workspace)
        if scope is not None and scope.allowed_domains is not None:
            return scope.allowed_domains
        return self.allowed_domains


class GuardSettings(_Strict):
    limits: LimitsSettings = LimitsSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    dlp: DlpSettings = DlpSettings()
    injection: InjectionSettings = InjectionSettings()
    output: OutputSettings = OutputSettings()
    timeout_seconds: Annotated[float, Field(gt=0)] = 2.0


class ExporterSettings(_Strict):
    """One SIEM sink. Delivery is at least once: each sink keeps a cursor into the audit
    log, retries with backoff and jitter, and dead-letters an event it refuses
    ``max_attempts`` times. Secrets come from the ``*_env`` variables."""

    type: Literal["syslog", "splunk_hec", "elasticsearch", "sentinel", "webhook", "jsonl"]
    enabled: bool = True
    url: str = ""
    # syslog
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 6514
    transport: Literal["tcp", "tls"] = "tls"
    format: Literal["rfc5424", "cef"] = "rfc5424"
    ca_file: str = ""
    facility: Annotated[int, Field(ge=0, le=23)] = 13
    # splunk_hec
    token_env: str = ""
    index: str = ""
    sourcetype: str = "tutela:ocsf"
    ack: bool = False
    # elasticsearch
    data_stream: str = "logs-tutela.audit-default"
    api_key_env: str = ""
    # sentinel (Azure Monitor Logs Ingestion API)
    dcr_immutable_id: str = ""
    stream_name: str = "Custom-TutelaAudit_CL"
    tenant_id: str = ""
    client_id: str = ""
    client_secret_env: str = ""
    token_url: str = ""
    # webhook
    secret_env: str = ""
    # jsonl
    path: str = ""
    rotate_bytes: Annotated[int, Field(ge=1024)] = 100 * 1024 * 1024
    keep_files: Annotated[int, Field(ge=1)] = 10
    # delivery
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    max_attempts: Annotated[int, Field(ge=1)] = 8
    backoff_initial: Annotated[float, Field(ge=0)] = 0.5
    backoff_max: Annotated[float, Field(ge=0)] = 60.0
    timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    verify_tls: bool = True

    @model_validator(mode="after")
    def _required_fields(self) -> ExporterSettings:
        needs = {
            "splunk_hec": ("url", "token_env"),
            "elasticsearch": ("url",),
            "sentinel": ("url", "dcr_immutable_id", "client_id", "client_secret_env"),
            "webhook": ("url", "secret_env"),
            "jsonl": ("path",),
        }.get(self.type, ())
        missing = [name for name in needs if not getattr(self, name)]
        if missing:
            raise ValueError(f"a {self.type} exporter needs: {', '.join(missing)}")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


class AuditSettings(_Strict):
    """The audit trail: signed checkpoints, durability, content logging, exporters."""

    signing_key_env: str = "TUTELA_AUDIT_SIGNING_KEY"
    signing_key_file: str = ""
    trusted_public_keys: tuple[str, ...] = ()
    checkpoint_every_events: Annotated[int, Field(ge=1)] = 1000
    checkpoint_every_seconds: Annotated[float, Field(gt=0)] = 60.0
    durable_responses: bool = True
    journal: bool = True
    journal_dir: str = ""
    content_master_key_env: str = "TUTELA_CONTENT_MASTER_KEY"
    exporters: dict[str, ExporterSettings] = Field(default_factory=dict)

    def journal_path(self, database_url: str) -> Path:
        """The journal's folder: the configured one, else beside a SQLite database, else
        ``tutela-audit.journal``."""
        if self.journal_dir:
            return Path(self.journal_dir)
        if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
            database = Path(database_url.removeprefix("sqlite:///"))
            return database.with_name(database.name + ".journal")
        return Path("tutela-audit.journal")

    def key_path(self, database_url: str) -> Path:
        """Where the signing key lives when the environment does not hold it: the
        configured file, else beside a SQLite database, else ``tutela-audit.key``."""
        if self.signing_key_file:
            return Path(self.signing_key_file)
        if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
            database = Path(database_url.removeprefix("sqlite:///"))
            return database.with_name(database.name + ".audit-key")
        return Path("tutela-audit.key")


class LoggingSettings(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True


class KeyPolicy(_Strict):
    """API key lifecycle: rotation overlap, the rotation policy, and an expiry cap."""

    rotation_overlap_hours: Annotated[float, Field(ge=0, le=24 * 30)] = 24.0
    max_age_days: Annotated[int, Field(ge=0)] = 90
    max_expiry_days: Annotated[int, Field(ge=0)] = 0
    cache_seconds: Annotated[float, Field(ge=0, le=60)] = 1.0


class SessionPolicy(_Strict):
    """Admin-port sign-in sessions (SSO and break-glass)."""

    ttl_hours: Annotated[float, Field(gt=0, le=24 * 7)] = 8.0
    cookie_name: str = "tutela_session"
    cookie_secure: bool = True


class BreakGlassPolicy(_Strict):
    """A local admin for first start and emergencies: argon2 password plus TOTP."""

    enabled: bool = True


class ClaudeCodeGroup(_Strict):
    """What members of one IdP group get in Claude Code."""

    managed_settings: dict[str, Any] = Field(default_factory=dict)
    models: tuple[str, ...] = ()


class ClaudeCodeSettings(_Strict):
    """Claude Code sign-in without API keys (the gateway OAuth device flow)."""

    enabled: bool = False
    access_token_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 60
    refresh_token_days: Annotated[int, Field(ge=0, le=90)] = 14
    default_workspace: str = ""
    managed_settings: dict[str, Any] | None = None
    groups: dict[str, ClaudeCodeGroup] = Field(default_factory=dict)

    def for_groups(self, groups: tuple[str, ...]) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
        """(managed settings, model patterns) for someone in ``groups``: the policy-wide
        settings deep-merged with each matching group's, in group-name order; the models
        are the union of the matching groups' lists (empty: no per-group restriction)."""
        matching = [self.groups[g] for g in sorted(set(groups)) if g in self.groups]
        settings = self.managed_settings
        models: list[str] = []
        for group in matching:
            if group.managed_settings:
                settings = _deep_merge(settings or {}, group.managed_settings)
            models += [m for m in group.models if m not in models]
        return settings, tuple(models)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class IdentitySettings(_Strict):
    public_url: str = ""
    gateway_public_url: str = ""
    # role -> data-class patterns that role may send (roles not listed: no restriction);
    # the decision point is identity.data_access.may_send, for the data-protection guard
    role_data_classes: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    keys: KeyPolicy = KeyPolicy()
    sessions: SessionPolicy = SessionPolicy()
    break_glass: BreakGlassPolicy = BreakGlassPolicy()
    claude_code: ClaudeCodeSettings = ClaudeCodeSettings()

    @field_validator("public_url", "gateway_public_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("the URL must start with http:// or https://")
        return value.rstrip("/")


MFA_AMR_DEFAULT = ("mfa", "otp", "hwk", "sc", "fpt", "face", "iris", "retina", "vbm", "sms", "tel")
"""RFC 8176 methods that prove a second factor (``swk``/``pwd`` alone do not)."""

MFA_SAML_DEFAULT = (
    "https://refeds.org/profile/mfa",
    "http://schemas.microsoft.com/claims/multipleauthn",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
)


class OidcProvider(_Strict):
    """One OpenID Connect identity provider (authorization code + PKCE)."""

    issuer: str
    client_id: str
    client_secret_env: str = ""
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    algorithms: tuple[str, ...] = ("RS256",)
    groups_claim: str = "groups"
    email_claim: str = "email"
    require_mfa: bool = True
    mfa_amr: tuple[str, ...] = MFA_AMR_DEFAULT
    mfa_acr: tuple[str, ...] = ()
    clock_skew_seconds: Annotated[int, Field(ge=0, le=300)] = 60

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("issuer must be an https:// URL (http:// only for loopback)")
        return value.rstrip("/")

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}
        bad = [a for a in value if a not in allowed]
        if bad or not value:
            raise ValueError(f"algorithms must be asymmetric JWS algorithms from {sorted(allowed)}")
        return value


class SamlProvider(_Strict):
    """One SAML 2.0 identity provider; tutela is the service provider."""

    idp_metadata_file: str
    sp_entity_id: str = ""
    sp_key_file: str = ""
    sp_cert_file: str = ""
    want_response_signed: bool = False
    email_attribute: str = "email"
    groups_attribute: str = "groups"
    require_mfa: bool = True
    mfa_contexts: tuple[str, ...] = MFA_SAML_DEFAULT
    clock_skew_seconds: Annotated[int, Field(ge=0, le=300)] = 60


class WorkspaceRoleMapping(_Strict):
    """IdP group -> role in one workspace; the strongest matching role wins."""

    groups: dict[str, str] = Field(default_factory=dict)


class SsoSettings(_Strict):
    oidc: dict[str, OidcProvider] = Field(default_factory=dict)
    saml: dict[str, SamlProvider] = Field(default_factory=dict)
    role_mapping: dict[str, WorkspaceRoleMapping] = Field(default_factory=dict)
    owner_groups: tuple[str, ...] = ()


class CustomRole(_Strict):
    permissions: tuple[str, ...]
    description: str = ""


class Policy(_Strict):
    version: Literal[1] = 1
    gateway: Listener = Listener(port=8080)
    admin: Listener = Listener(port=8081)
    database_url: str = "sqlite:///tutela.db"
    redis_url_env: str = "TUTELA_REDIS_URL"
    default_upstream: str = "offline"
    upstreams: dict[str, UpstreamSettings] = Field(
        default_factory=lambda: {"offline": UpstreamSettings(type="offline")}
    )
    workspaces: dict[str, WorkspaceSettings] = Field(default_factory=dict)
    guards: GuardSettings = GuardSettings()
    audit: AuditSettings = AuditSettings()
    logging: LoggingSettings = LoggingSettings()
    identity: IdentitySettings = IdentitySettings()
    sso: SsoSettings = SsoSettings()
    roles: dict[str, CustomRole] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _roles_resolve(self) -> Policy:
        from tutela.identity.roles import BUILTIN_ROLES, PERMISSIONS

        for name, role in self.roles.items():
            if name in BUILTIN_ROLES:
                raise ValueError(f"roles.{name}: a built-in role cannot be redefined")
            unknown = [p for p in role.permissions if p not in PERMISSIONS]
            if unknown:
                raise ValueError(
                    f"roles.{name}.permissions: unknown {unknown}; choose from: "
                    + ", ".join(sorted(PERMISSIONS))
                )
        known = set(BUILTIN_ROLES) | set(self.roles)
        for workspace, mapping in self.sso.role_mapping.items():
            for group, mapped in mapping.groups.items():
                if mapped not in known or mapped == "owner":
                    raise ValueError(
                        f"sso.role_mapping.{workspace}.groups.{group}: unknown role {mapped!r}"
                        " (owner is granted through sso.owner_groups)"
                    )
        if set(self.sso.oidc) & set(self.sso.saml):
            raise ValueError("sso: an OIDC and a SAML provider share a name")
        return self

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        if self.default_upstream not in self.upstreams:
            raise ValueError(f"default_upstream {self.default_upstream!r} is not in upstreams")
        for name, workspace in self.workspaces.items():
            if workspace.upstream and workspace.upstream not in self.upstreams:
                raise ValueError(
                    f"workspaces.{name}.upstream {workspace.upstream!r} is not in upstreams"
                )
        return self

    @model_validator(mode="after")
    def _distinct_ports(self) -> Policy:
        if self.gateway.port and self.gateway.port == self.admin.port:
            raise ValueError("admin.port must differ from gateway.port")
        return self

    def upstream_for(self, workspace: str) -> str:
        settings = self.workspaces.get(workspace)
        return (settings.upstream if settings and settings.upstream else None) or (
            self.default_upstream
        )

    def keys_allowed(self, workspace: str) -> bool:
        settings = self.workspaces.get(workspace)
        return not (settings is not None and settings.interactive_only)

    def redis_url(self) -> str | None:
        return os.environ.get(self.redis_url_env) or None


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping key."""


def _lines(
    node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]
) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            out[child] = key.start_mark.line + 1
            _lines(value, child, out)
            out[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), out)


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate policy text; every error names ``source``, the line and the key."""
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        data: Any = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{source}{line}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1: the policy must be a mapping of settings")
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(part for part in err["loc"] if not str(part).startswith("function-"))
            key = ".".join(str(p) for p in loc) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{source}:{_nearest_line(loc, lines)}: {key}: {message}")
        raise ConfigError("\n".join(problems)) from None


def _nearest_line(loc: tuple[Any, ...], lines: dict[tuple[str | int, ...], int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def load_policy(path: str | Path | None) -> Policy:
    """Load a policy file, or the embedded defaults when ``path`` is None."""
    if path is None:
        return Policy()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read policy file: {exc.strerror}") from None
    return parse_policy(text, str(file))

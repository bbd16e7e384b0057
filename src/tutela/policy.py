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
    """What to do when text from one source scores at or above ``threshold``."""

    threshold: Annotated[float, Field(ge=0, le=1)]
    action: InjectionAction


class InjectionScope(_Strict):
    """Per-workspace overrides; unset fields keep the ``guards.injection`` value."""

    user: InjectionSource | None = None
    document: InjectionSource | None = None
    tool_result: InjectionSource | None = None
    spotlight_all: bool | None = None
    canary: bool | None = None


class InjectionSettings(_Strict):
    """Prompt-injection detection on requests, spotlighting, canary tokens.

    A user's own words are flagged (audited) by default; text in ``document`` and
    ``tool_result`` blocks is untrusted, scanned block by block with a lower threshold, and
    blocked by default. ``spotlight_all`` delimits and datamarks every untrusted block
    whatever its score; ``canary`` plants a per-workspace secret in the system prompt and
    blocks responses that reveal it.
    """

    enabled: bool = True
    on_error: OnError = "block"
    user: InjectionSource = InjectionSource(threshold=0.92, action="flag")
    document: InjectionSource = InjectionSource(threshold=0.75, action="block")
    tool_result: InjectionSource = InjectionSource(threshold=0.75, action="block")
    spotlight_all: bool = False
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


class LoggingSettings(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True


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
    logging: LoggingSettings = LoggingSettings()

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

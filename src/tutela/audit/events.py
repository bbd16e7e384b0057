"""Audit events: one documented dataclass per event type, rendered as OCSF 1.8 JSON.

Every event names its OCSF class, its activities and the ``event_type`` strings tutela
uses for search (``api_key.created``). ``ocsf()`` renders the event without its chain
fields; the writer adds ``metadata.sequence`` and the hash chain (``audit/chain.py``).
Events carry ids, counts, classes, scores and actions, never a prompt, a response, a
matched value, a key secret or a token. ``docs/audit-events.md`` is generated from this
module (``python -m tutela.audit.reference``) and a test keeps it in step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from tutela import __version__
from tutela.randomness import random_hex
from tutela.types import Exchange

OCSF_VERSION = "1.8.0"
PRODUCT = {"name": "tutela", "vendor_name": "tutela", "version": __version__}
SEVERITY_NAMES = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
CATEGORY_NAMES = {2: "Findings", 3: "Identity & Access Management", 6: "Application Activity"}


def new_event_uid() -> str:
    return "evt_" + random_hex(12)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def epoch_ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """Who acted: an API key, a signed-in person, or tutela itself (``system``).

    ``idp`` names the SSO provider the person signed in through; ``session`` the admin
    session id. Rendered as OCSF ``actor`` (``actor.user``, ``actor.idp``, ``actor.session``).
    """

    kind: Literal["api_key", "user", "system"]
    uid: str
    name: str = ""
    email: str = ""
    idp: str = ""
    session: str = ""

    def ocsf(self) -> dict[str, Any]:
        user: dict[str, Any] = {"uid": self.uid}
        if self.name:
            user["name"] = self.name
        if self.email:
            user["email_addr"] = self.email
        if self.kind == "api_key":
            user["type_id"], user["type"] = 4, "Service"
            user["programmatic_credentials"] = [{"uid": self.uid, "type": "API Key"}]
        elif self.kind == "system":
            user["type_id"], user["type"] = 3, "System"
        else:
            user["type_id"], user["type"] = 1, "User"
        actor: dict[str, Any] = {"user": user, "app_name": "tutela"}
        if self.idp:
            actor["idp"] = {"name": self.idp}
        if self.session:
            actor["session"] = {"uid": self.session}
        return actor


SYSTEM = Actor(kind="system", uid="tutela")


def cli_actor() -> Actor:
    """The operator running a ``tutela`` command on the host (OS user name)."""
    import getpass

    try:
        name = getpass.getuser()
    except Exception:
        name = "unknown"
    return Actor(kind="user", uid=f"cli:{name}", name=name)


@dataclass(kw_only=True)
class AuditEvent:
    """The part every event shares. Subclasses add their own fields and OCSF class.

    ``activity`` is one of the class's ``ACTIVITIES`` keys; ``event_type`` is
    ``FAMILY.activity``. ``outcome`` is ``success`` or ``failure`` (API requests carry the
    request's own outcome: ``ok``, ``blocked``, ``refused``, ``upstream_error``, ...).
    """

    CLASS_UID: ClassVar[int] = 0
    CLASS_NAME: ClassVar[str] = ""
    FAMILY: ClassVar[str] = ""
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {}

    activity: str
    actor: Actor = SYSTEM
    workspace_id: str | None = None
    outcome: str = "success"
    reason: str = ""
    src_ip: str = ""
    uid: str = field(default_factory=new_event_uid)
    time: dt.datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        if self.activity not in self.ACTIVITIES:
            raise ValueError(
                f"{type(self).__name__}: unknown activity {self.activity!r}; "
                f"one of {sorted(self.ACTIVITIES)}"
            )

    @property
    def event_type(self) -> str:
        return f"{self.FAMILY}.{self.activity}"

    @property
    def ok(self) -> bool:
        return self.outcome in ("success", "ok")

    def severity_id(self) -> int:
        return 1 if self.ok else 3

    def activity_id(self) -> tuple[int, str]:
        return self.ACTIVITIES[self.activity]

    def ocsf(self) -> dict[str, Any]:
        """The OCSF 1.8 rendering (without ``metadata.sequence``, which the writer sets)."""
        activity_id, activity_name = self.activity_id()
        category = self.CLASS_UID // 1000
        severity = self.severity_id()
        event: dict[str, Any] = {
            "activity_id": activity_id,
            "activity_name": activity_name,
            "category_uid": category,
            "category_name": CATEGORY_NAMES[category],
            "class_uid": self.CLASS_UID,
            "class_name": self.CLASS_NAME,
            "type_uid": self.CLASS_UID * 100 + activity_id,
            "type_name": f"{self.CLASS_NAME}: {activity_name}",
            "time": epoch_ms(self.time),
            "severity_id": severity,
            "severity": SEVERITY_NAMES[severity],
            "status_id": 1 if self.ok else 2,
            "status": "Success" if self.ok else "Failure",
            "metadata": {
                "uid": self.uid,
                "version": OCSF_VERSION,
                "product": PRODUCT,
                "log_name": "audit",
                "event_code": self.event_type,
            },
            "actor": self.actor.ocsf(),
        }
        if self.workspace_id:
            event["metadata"]["tenant_uid"] = self.workspace_id
        if self.reason:
            event["status_detail"] = self.reason
        if self.src_ip:
            event["src_endpoint"] = {"ip": self.src_ip}
        event.update(self.specific())
        return event

    def specific(self) -> dict[str, Any]:
        return {}

    def row(self) -> dict[str, Any]:
        """The indexed columns stored beside the event (search), all derived from it."""
        return {
            "uid": self.uid,
            "ts": self.time,
            "event_type": self.event_type,
            "class_uid": self.CLASS_UID,
            "workspace_id": self.workspace_id,
            "actor": self.actor.uid,
            "outcome": self.outcome,
        }


def _rounded(value: Any) -> Any:
    """Floats rounded as ``_score`` does, all the way down (canonical JSON stays RFC 8785).
    Exact type checks: this runs on every request's injection summary."""
    kind = type(value)
    if kind is float:
        return _score(value)
    if kind is dict:
        return {key: _rounded(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_rounded(item) for item in value]
    return value


def _score(value: float) -> float | int:
    """Scores in events are rounded to 3 places; a whole number is an int (canonical JSON)."""
    rounded = round(float(value), 3)
    return int(rounded) if rounded.is_integer() else rounded


@dataclass(kw_only=True)
class ApiRequest(AuditEvent):
    """One Messages API request through the gateway (OCSF API Activity, AI operation profile).

    ``verdicts`` holds each guard's action, reason and finding classes; ``dlp`` the classes
    found with counts and the action per class; ``injection`` whether anything was
    flagged, the highest score, per source the parts scanned and flagged, rule ids with
    counts, parts answered from the verdict cache, the actions taken, the canary state,
    output-validation findings and PDF documents that could not be read. ``usage`` is the
    token counts. Never the prompt or the response: with content logging on,
    ``content_sha256`` is the hash of their ciphertext, which is stored apart
    (``audit/content.py``).
    """

    CLASS_UID: ClassVar[int] = 6003
    CLASS_NAME: ClassVar[str] = "API Activity"
    FAMILY: ClassVar[str] = "api"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {"request": (1, "Create")}
    _BY_ENDPOINT: ClassVar[dict[str, tuple[int, str]]] = {
        "messages": (1, "Create"),
        "count_tokens": (2, "Read"),
        "models": (2, "Read"),
        "model": (2, "Read"),
    }

    activity: str = "request"
    request_id: str = ""
    endpoint: str = ""
    model: str = ""
    stream: bool = False
    status: int = 0
    upstream_status: int = 0
    error_type: str = ""
    duration_ms: int = 0
    usage: dict[str, int] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    dlp: dict[str, Any] | None = None
    injection: dict[str, Any] | None = None
    content_sha256: str = ""

    def activity_id(self) -> tuple[int, str]:
        return self._BY_ENDPOINT.get(self.endpoint, (99, "Other"))

    def severity_id(self) -> int:
        if self.outcome == "blocked":
            return 3
        return 1 if self.outcome == "ok" else 2

    def specific(self) -> dict[str, Any]:
        api: dict[str, Any] = {
            "operation": self.endpoint,
            "service": {"name": "Anthropic Messages API"},
            "request": {"uid": self.request_id},
            "response": {"code": self.status},
        }
        if self.error_type:
            api["response"]["error"] = self.error_type
        total = self.usage.get("input_tokens", 0) + self.usage.get("output_tokens", 0)
        extra: dict[str, Any] = {
            "outcome": self.outcome,
            "stream": self.stream,
            "upstream_status": self.upstream_status,
            "usage": self.usage,
            "verdicts": self.verdicts,
        }
        if self.dlp is not None:
            extra["dlp"] = self.dlp
        if self.injection is not None:
            extra["injection"] = self.injection
        if self.content_sha256:
            extra["content_sha256"] = self.content_sha256
        out: dict[str, Any] = {
            "api": api,
            "duration": self.duration_ms,
            "message_context": {
                "uid": self.request_id,
                "application": "tutela",
                "prompt_tokens": self.usage.get("input_tokens", 0),
                "completion_tokens": self.usage.get("output_tokens", 0),
                "total_tokens": total,
            },
            "unmapped": {"tutela": extra},
        }
        if self.model:
            out["ai_model"] = {"name": self.model, "ai_provider": "Anthropic"}
        return out


def request_event(exchange: Exchange, duration_ms: int) -> ApiRequest:
    """The ``api.request`` event of one settled exchange."""
    principal = exchange.principal
    usage = exchange.usage
    event = ApiRequest(
        actor=Actor(kind="api_key", uid=principal.key_id, name=principal.name)
        if principal
        else Actor(kind="api_key", uid="anonymous"),
        workspace_id=principal.workspace_id if principal else None,
        outcome=exchange.outcome,
        src_ip=exchange.client_ip,
        request_id=exchange.request_id,
        endpoint=exchange.endpoint,
        model=exchange.model[:200],
        stream=exchange.stream,
        status=exchange.status,
        upstream_status=exchange.upstream_status,
        error_type=exchange.error_type,
        duration_ms=duration_ms,
        usage={
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
        },
        verdicts=[
            {
                "guard": record.guard,
                "phase": record.phase,
                "action": record.action,
                "reason": record.reason,
                "classes": list(record.classes),
                "error": record.error,
            }
            for record in exchange.records
        ],
    )
    if exchange.data_protection is not None:
        event.dlp = exchange.data_protection.as_dict()
    if exchange.injection is not None:
        event.injection = _rounded(exchange.injection.as_dict())
    return event


@dataclass(kw_only=True)
class Authentication(AuditEvent):
    """A person signing in to or out of the admin API and console (OCSF Authentication).

    ``actor.idp`` is the SSO provider, ``src_ip`` the client address, ``protocol`` one of
    ``oidc``, ``saml``, ``local``; ``mfa`` whether the sign-in proved a second factor.
    A refused sign-in has outcome ``failure`` and says why in ``reason``.
    """

    CLASS_UID: ClassVar[int] = 3002
    CLASS_NAME: ClassVar[str] = "Authentication"
    FAMILY: ClassVar[str] = "auth"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {
        "login": (1, "Logon"),
        "logout": (2, "Logoff"),
        # Claude Code sign-in: a device approved in the browser, a gateway token issued
        # for it, and a token renewed with a refresh token
        "device_approved": (3, "Authentication Ticket"),
        "token_issued": (4, "Service Ticket Request"),
        "token_refreshed": (5, "Service Ticket Renew"),
    }
    _PROTOCOLS: ClassVar[dict[str, tuple[int, str]]] = {
        "oidc": (4, "OpenID"),
        "saml": (5, "SAML"),
        "local": (99, "Other"),
    }

    protocol: str = "local"
    mfa: bool | None = None

    def specific(self) -> dict[str, Any]:
        protocol_id, protocol_name = self._PROTOCOLS.get(self.protocol, (0, "Unknown"))
        out: dict[str, Any] = {
            "user": self.actor.ocsf()["user"],
            "service": {"name": "tutela-admin"},
            "auth_protocol_id": protocol_id,
            "auth_protocol": protocol_name,
        }
        if self.mfa is not None:
            out["is_mfa"] = self.mfa
        if self.actor.session:
            out["session"] = {"uid": self.actor.session}
        return out


@dataclass(kw_only=True)
class _EntityChange(AuditEvent):
    """Shared shape of Entity Management events: the entity before and after."""

    CLASS_UID: ClassVar[int] = 3004
    CLASS_NAME: ClassVar[str] = "Entity Management"
    ENTITY_TYPE: ClassVar[str] = ""

    entity_uid: str = ""
    entity_name: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    correlation_uid: str = ""

    def specific(self) -> dict[str, Any]:
        entity: dict[str, Any] = {"uid": self.entity_uid, "type": self.ENTITY_TYPE}
        if self.entity_name:
            entity["name"] = self.entity_name
        if self.before is not None:
            entity["data"] = self.before
        out: dict[str, Any] = {"entity": entity}
        if self.after is not None:
            result = {"uid": self.entity_uid, "type": self.ENTITY_TYPE, "data": self.after}
            if self.entity_name:
                result["name"] = self.entity_name
            out["entity_result"] = result
        return out

    def ocsf(self) -> dict[str, Any]:
        event = AuditEvent.ocsf(self)
        if self.correlation_uid:
            event["metadata"]["correlation_uid"] = self.correlation_uid
        return event


_SECRET_FIELDS = frozenset({"secret", "key", "token", "secret_sha256", "password"})


def _public(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """A key record as events may carry it: never its secret, digest or token."""
    if record is None:
        return None
    return {k: v for k, v in record.items() if k not in _SECRET_FIELDS}


@dataclass(kw_only=True)
class ApiKeyChange(_EntityChange):
    """An API key created, rotated, revoked or expired (OCSF Entity Management).

    ``before``/``after`` hold the key's public record (id, name, role, workspace, times),
    never its secret or digest. A rotation's ``correlation_uid`` links the successor's
    ``created`` event to the old key's ``rotated`` event.
    """

    FAMILY: ClassVar[str] = "api_key"
    ENTITY_TYPE: ClassVar[str] = "API Key"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {
        "created": (1, "Create"),
        "rotated": (3, "Update"),
        "revoked": (9, "Disable"),
        "expired": (9, "Disable"),
        "deleted": (4, "Delete"),
    }

    def __post_init__(self) -> None:
        AuditEvent.__post_init__(self)
        self.before = _public(self.before)
        self.after = _public(self.after)


def key_event(
    activity: str,
    key: dict[str, Any],
    actor: Actor,
    workspace_id: str | None,
    *,
    before: dict[str, Any] | None = None,
    correlation_uid: str = "",
) -> ApiKeyChange:
    """An ``api_key.<activity>`` event for a key's public record."""
    return ApiKeyChange(
        activity=activity,
        actor=actor,
        workspace_id=workspace_id,
        entity_uid=str(key.get("id", "")),
        entity_name=str(key.get("name", "")),
        before=before,
        after=key,
        correlation_uid=correlation_uid,
    )


@dataclass(kw_only=True)
class WorkspaceChange(_EntityChange):
    """A workspace created, reconfigured or deleted (OCSF Entity Management), with its
    settings before and after."""

    FAMILY: ClassVar[str] = "workspace"
    ENTITY_TYPE: ClassVar[str] = "Workspace"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {
        "created": (1, "Create"),
        "updated": (3, "Update"),
        "deleted": (4, "Delete"),
    }


def workspace_event(
    activity: str, name: str, workspace_id: str, actor: Actor, **changes: Any
) -> WorkspaceChange:
    return WorkspaceChange(
        activity=activity,
        actor=actor,
        workspace_id=workspace_id,
        entity_uid=workspace_id,
        entity_name=name,
        **changes,
    )


@dataclass(kw_only=True)
class PolicyChange(_EntityChange):
    """The policy file loaded with a different content (OCSF Entity Management, Update):
    the SHA-256 of the old and new file, never secrets (the file holds none)."""

    FAMILY: ClassVar[str] = "policy"
    ENTITY_TYPE: ClassVar[str] = "Policy"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {"loaded": (3, "Update")}


@dataclass(kw_only=True)
class RoleChange(AuditEvent):
    """A role assigned to or removed from a person or key, or a custom role's permissions
    changed (OCSF User Access Management). ``subject`` is who was changed."""

    CLASS_UID: ClassVar[int] = 3005
    CLASS_NAME: ClassVar[str] = "User Access Management"
    FAMILY: ClassVar[str] = "role"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {
        "privileges_granted": (1, "Assign Privileges"),
        "privileges_revoked": (2, "Revoke Privileges"),
        "assigned": (3, "Assign Role"),
        "removed": (4, "Remove Role"),
    }

    subject: Actor = SYSTEM
    role: str = ""
    privileges: list[str] = field(default_factory=list)

    def specific(self) -> dict[str, Any]:
        out: dict[str, Any] = {"user": self.subject.ocsf()["user"], "privileges": self.privileges}
        if self.role:
            out["role"] = {"name": self.role}
        return out


@dataclass(kw_only=True)
class DataExport(AuditEvent):
    """Audit data searched out and exported (OCSF Web Resources Activity, Export): what was
    exported, in which format, how many records and with which filters."""

    CLASS_UID: ClassVar[int] = 6001
    CLASS_NAME: ClassVar[str] = "Web Resources Activity"
    FAMILY: ClassVar[str] = "export"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {
        "audit_events": (7, "Export"),
        "content": (7, "Export"),
    }

    format: str = "jsonl"
    count: int = 0
    filters: dict[str, Any] = field(default_factory=dict)

    def specific(self) -> dict[str, Any]:
        return {
            "web_resources": [{"type": self.activity, "name": f"{self.activity}.{self.format}"}],
            "count": self.count,
            "unmapped": {"tutela": {"filters": self.filters, "format": self.format}},
        }


@dataclass(kw_only=True)
class ContentAccess(AuditEvent):
    """Encrypted prompt and response content decrypted for reading (OCSF Datastore
    Activity, Decrypt): which request's content, by whom. The content itself never is."""

    CLASS_UID: ClassVar[int] = 6005
    CLASS_NAME: ClassVar[str] = "Datastore Activity"
    FAMILY: ClassVar[str] = "content"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {"decrypted": (10, "Decrypt")}

    request_id: str = ""
    key_version: int = 0

    def specific(self) -> dict[str, Any]:
        return {
            "table": {"name": "audit_content"},
            "unmapped": {
                "tutela": {"request_id": self.request_id, "key_version": self.key_version}
            },
        }


@dataclass(kw_only=True)
class GuardFinding(AuditEvent):
    """A guard refused or changed a request, or a detection fired (OCSF Detection
    Finding). ``rule`` names the guard or detection rule; ``classes`` what it found."""

    CLASS_UID: ClassVar[int] = 2004
    CLASS_NAME: ClassVar[str] = "Detection Finding"
    FAMILY: ClassVar[str] = "finding"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {
        "created": (1, "Create"),
        "updated": (2, "Update"),
        "closed": (3, "Close"),
    }

    title: str = ""
    rule: str = ""
    action: str = ""
    classes: list[str] = field(default_factory=list)
    request_id: str = ""
    score: float = 1.0
    severity: int = 3

    def severity_id(self) -> int:
        return self.severity

    def specific(self) -> dict[str, Any]:
        return {
            "finding_info": {
                "uid": self.uid,
                "title": self.title or f"{self.rule}: {self.action}",
                "analytic": {"name": self.rule, "type_id": 1, "type": "Rule"},
                "related_events": [{"uid": self.request_id}] if self.request_id else [],
                "types": self.classes,
            },
            "is_alert": self.severity >= 4,
            "confidence_score": int(_score(self.score) * 100),
            "unmapped": {"tutela": {"action": self.action, "request_id": self.request_id}},
        }


@dataclass(kw_only=True)
class AuditPurge(AuditEvent):
    """Old audit segments removed under a retention policy (OCSF Datastore Activity,
    Delete). It names the last purged record and its hash, so the remaining chain still
    verifies from there."""

    CLASS_UID: ClassVar[int] = 6005
    CLASS_NAME: ClassVar[str] = "Datastore Activity"
    FAMILY: ClassVar[str] = "audit"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {"purged": (4, "Delete")}

    through_seq: int = 0
    through_hash: str = ""
    count: int = 0
    policy: str = ""

    def specific(self) -> dict[str, Any]:
        return {
            "table": {"name": "audit_events"},
            "count": self.count,
            "unmapped": {
                "tutela": {
                    "through_seq": self.through_seq,
                    "through_hash": self.through_hash,
                    "policy": self.policy,
                }
            },
        }


@dataclass(kw_only=True)
class MembershipChange(_EntityChange):
    """A person added to a workspace, their role there changed, or removed (OCSF Entity
    Management). ``entity_uid`` is the user id; ``before``/``after`` hold the role and
    its source (``sso`` mapping or ``manual``)."""

    FAMILY: ClassVar[str] = "member"
    ENTITY_TYPE: ClassVar[str] = "Workspace Membership"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {
        "added": (1, "Create"),
        "changed": (3, "Update"),
        "removed": (4, "Delete"),
    }


@dataclass(kw_only=True)
class UserChange(_EntityChange):
    """A person created just in time at first sign-in, disabled or re-enabled, made or
    unmade an organisation owner, or given break-glass credentials (OCSF Entity
    Management); ``before``/``after`` never hold a password or TOTP seed."""

    FAMILY: ClassVar[str] = "user"
    ENTITY_TYPE: ClassVar[str] = "User"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {
        "created": (1, "Create"),
        "changed": (3, "Update"),
        "break_glass_enabled": (3, "Update"),
        "break_glass_disabled": (3, "Update"),
    }

    def __post_init__(self) -> None:
        AuditEvent.__post_init__(self)
        self.before = _public(self.before)
        self.after = _public(self.after)


@dataclass(kw_only=True)
class AdminDenied(AuditEvent):
    """An authenticated caller refused an admin API action (OCSF API Activity, failure):
    a missing permission, another workspace, or an attempt to hand out a role stronger
    than its own. Recorded in the caller's own workspace, never the one it tried."""

    CLASS_UID: ClassVar[int] = 6003
    CLASS_NAME: ClassVar[str] = "API Activity"
    FAMILY: ClassVar[str] = "admin"
    ACTIVITIES: ClassVar[dict[str, tuple[int, str]]] = {"denied": (99, "Other")}

    method: str = ""
    route: str = ""

    def specific(self) -> dict[str, Any]:
        return {
            "api": {
                "operation": f"{self.method} {self.route}",
                "service": {"name": "tutela-admin"},
            },
        }


EVENT_CLASSES: tuple[type[AuditEvent], ...] = (
    ApiRequest,
    Authentication,
    ApiKeyChange,
    WorkspaceChange,
    MembershipChange,
    UserChange,
    AdminDenied,
    PolicyChange,
    RoleChange,
    DataExport,
    ContentAccess,
    GuardFinding,
    AuditPurge,
)

"""Generates ``docs/audit-events.md`` from the event dataclasses.

Run ``python -m tutela.audit.reference > docs/audit-events.md``; a test fails when the
committed file differs from what this prints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import sys
from typing import Any

import orjson

from tutela.audit.events import (
    EVENT_CLASSES,
    OCSF_VERSION,
    Actor,
    AdminDenied,
    ApiKeyChange,
    ApiRequest,
    AuditEvent,
    AuditPurge,
    Authentication,
    ContentAccess,
    DataExport,
    GuardFinding,
    MembershipChange,
    PolicyChange,
    RoleChange,
    UserChange,
    WorkspaceChange,
)

_EXAMPLE_TIME = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)
_KEY = Actor(kind="api_key", uid="7f3a9c2e1b4d5a60", name="billing-app")
_PERSON = Actor(
    kind="user", uid="u_ana", name="Ana", email="ana@example.com", idp="okta", session="ses_41c2"
)


def _examples() -> dict[type[AuditEvent], AuditEvent]:
    common: dict[str, Any] = {"uid": "evt_000000000000000000000001", "time": _EXAMPLE_TIME}
    return {
        ApiRequest: ApiRequest(
            **common,
            actor=_KEY,
            workspace_id="ws_default",
            outcome="ok",
            src_ip="10.0.0.7",
            request_id="req_tut_0195d0c1a2b",
            endpoint="messages",
            model="claude-sonnet-4-6",
            stream=True,
            status=200,
            upstream_status=200,
            duration_ms=812,
            usage={
                "input_tokens": 1200,
                "output_tokens": 340,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
            verdicts=[
                {
                    "guard": "dlp",
                    "phase": "request",
                    "action": "transform",
                    "reason": "pseudonymised 2 findings",
                    "classes": ["pii.email"],
                    "error": False,
                }
            ],
            dlp={"classes": {"pii.email": 2}, "actions": {"pii.email": "pseudonymise"}},
        ),
        Authentication: Authentication(
            **common,
            activity="login",
            actor=_PERSON,
            src_ip="192.0.2.10",
            protocol="oidc",
            mfa=True,
        ),
        ApiKeyChange: ApiKeyChange(
            **common,
            activity="rotated",
            actor=_PERSON,
            workspace_id="ws_default",
            entity_uid="7f3a9c2e1b4d5a60",
            entity_name="billing-app",
            before={"id": "7f3a9c2e1b4d5a60", "role": "analyst", "expires_at": None},
            after={
                "id": "7f3a9c2e1b4d5a60",
                "role": "analyst",
                "expires_at": "2026-12-07T12:00:00+00:00",
            },
            correlation_uid="rot_5c1e",
        ),
        WorkspaceChange: WorkspaceChange(
            **common,
            activity="updated",
            actor=_PERSON,
            workspace_id="ws_legal",
            entity_uid="ws_legal",
            entity_name="legal",
            before={"content_logging": False},
            after={"content_logging": True},
        ),
        MembershipChange: MembershipChange(
            **common,
            activity="changed",
            actor=_PERSON,
            workspace_id="ws_default",
            src_ip="192.0.2.10",
            entity_uid="u_bo",
            before={"role": "viewer", "source": "manual"},
            after={"email": "bo@example.com", "role": "analyst", "source": "manual"},
        ),
        UserChange: UserChange(
            **common,
            activity="created",
            actor=_PERSON,
            src_ip="192.0.2.10",
            entity_uid="u_ana",
            after={"email": "ana@example.com", "just_in_time": True},
        ),
        AdminDenied: AdminDenied(
            **common,
            activity="denied",
            actor=_KEY,
            workspace_id="ws_default",
            outcome="failure",
            reason="not permitted: your role 'analyst' cannot create a key with role 'admin'",
            src_ip="10.0.0.7",
            method="POST",
            route="/admin/v1/workspaces/{workspace}/keys",
        ),
        PolicyChange: PolicyChange(
            **common,
            activity="loaded",
            entity_uid="tutela.yaml",
            before={"sha256": "9b1f..."},
            after={"sha256": "c04e..."},
        ),
        RoleChange: RoleChange(
            **common,
            activity="assigned",
            actor=_PERSON,
            workspace_id="ws_default",
            subject=Actor(kind="user", uid="u_bo", email="bo@example.com"),
            role="viewer",
        ),
        DataExport: DataExport(
            **common,
            activity="audit_events",
            actor=_PERSON,
            format="csv",
            count=1520,
            filters={"event_type": "api_key.*", "since": "2026-11-01T00:00:00+00:00"},
        ),
        ContentAccess: ContentAccess(
            **common,
            activity="decrypted",
            actor=_PERSON,
            workspace_id="ws_legal",
            request_id="req_tut_0195d0c1a2b",
            key_version=2,
        ),
        GuardFinding: GuardFinding(
            **common,
            activity="created",
            actor=_KEY,
            workspace_id="ws_default",
            title="request blocked by data protection policy: fin.credit_card (1)",
            rule="guard.dlp",
            action="block",
            classes=["fin.credit_card"],
            request_id="req_tut_0195d0c1a2b",
            severity=4,
        ),
        AuditPurge: AuditPurge(
            **common,
            activity="purged",
            through_seq=120000,
            through_hash="3f9a...",
            count=120000,
            policy="retention 180d",
        ),
    }


def _fields(cls: type[AuditEvent]) -> list[str]:
    base = {f.name for f in dataclasses.fields(AuditEvent)}
    return [f.name for f in dataclasses.fields(cls) if f.name not in base]


def render() -> str:
    examples = _examples()
    out = [
        "# Audit events",
        "",
        "<!-- generated by `python -m tutela.audit.reference`; a test keeps it in step -->",
        "",
        f"Every event is rendered as OCSF {OCSF_VERSION} JSON. Every event has `metadata.uid`"
        " (unique, stable: exporters' idempotency key), `metadata.sequence` (its place in the"
        " hash chain), `metadata.event_code` (tutela's event type, below), "
        "`metadata.tenant_uid` (the workspace), `time` (epoch ms), `type_uid` "
        "(`class_uid * 100 + activity_id`), `severity_id`, `status_id` and `actor`. Events"
        " carry ids, counts, classes, scores and actions; never a prompt, a response, a"
        " matched value, a key's secret or a token.",
        "",
        "| Event types | OCSF class | Activities (id) |",
        "|---|---|---|",
    ]
    for cls in EVENT_CLASSES:
        acts = ", ".join(
            f"`{cls.FAMILY}.{name}` ({aid})" for name, (aid, _) in cls.ACTIVITIES.items()
        )
        out.append(f"| {cls.__name__} | {cls.CLASS_NAME} ({cls.CLASS_UID}) | {acts} |")
    for cls in EVENT_CLASSES:
        doc = inspect.cleandoc(cls.__doc__ or "")
        out += ["", f"## {cls.__name__}: {cls.CLASS_NAME} ({cls.CLASS_UID})", "", doc, ""]
        fields = _fields(cls)
        if fields:
            out.append("Fields: " + ", ".join(f"`{name}`" for name in fields) + ".")
            out.append("")
        example = examples[cls].ocsf()
        example["metadata"]["sequence"] = 4711
        out += [
            "```json",
            orjson.dumps(example, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode(),
            "```",
        ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())

"""The event model: OCSF identifiers, unique ids, canonical JSON, the generated reference."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from tutela.audit import reference
from tutela.audit.chain import canonical
from tutela.audit.events import EVENT_CLASSES, Actor, ApiKeyChange, ApiRequest, key_event

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_example_has_correct_ocsf_identifiers() -> None:
    examples = reference._examples()
    assert set(examples) == set(EVENT_CLASSES)
    for cls, event in examples.items():
        rendered = event.ocsf()
        assert rendered["class_uid"] == cls.CLASS_UID
        assert rendered["category_uid"] == cls.CLASS_UID // 1000
        assert rendered["type_uid"] == cls.CLASS_UID * 100 + rendered["activity_id"]
        assert rendered["metadata"]["version"] == "1.8.0"
        assert rendered["metadata"]["product"]["name"] == "tutela"
        assert isinstance(rendered["time"], int) and rendered["time"] > 1.7e12
        assert rendered["metadata"]["event_code"] == event.event_type


def test_authentication_carries_idp_ip_and_mfa() -> None:
    event = reference._examples()[reference.Authentication].ocsf()
    assert event["actor"]["idp"]["name"] == "okta"
    assert event["src_endpoint"]["ip"] == "192.0.2.10"
    assert event["is_mfa"] is True and event["auth_protocol_id"] == 4
    assert event["type_uid"] == 300201


def test_event_uids_are_unique() -> None:
    uids = {ApiRequest(request_id="r").uid for _ in range(10_000)}
    assert len(uids) == 10_000


def test_unknown_activity_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown activity"):
        ApiKeyChange(activity="stolen")


def test_key_events_never_carry_secrets() -> None:
    record = {"id": "k1", "secret": "tutela_sk_x", "secret_sha256": "ab" * 32, "key": "s"}
    event = key_event("created", record, Actor(kind="user", uid="u"), "ws", before=dict(record))
    text = orjson.dumps(event.ocsf()).decode()
    assert "tutela_sk_x" not in text and "ab" * 32 not in text and '"key"' not in text
    assert '"k1"' in text


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(min_value=0, max_value=1).map(lambda x: round(x, 3)).filter(
        lambda x: not float(x).is_integer()
    )
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(_json)
def test_canonical_form_is_rfc8785_for_what_events_hold(value: object) -> None:
    assert canonical({"v": value}) == rfc8785.dumps({"v": value})


def test_every_rendered_example_is_rfc8785_canonical() -> None:
    for event in reference._examples().values():
        rendered = event.ocsf()
        assert canonical(rendered) == rfc8785.dumps(rendered)


def test_reference_doc_is_generated_from_the_dataclasses() -> None:
    committed = (DOCS / "audit-events.md").read_text()
    assert committed == reference.render(), (
        "docs/audit-events.md is stale: run python -m tutela.audit.reference > docs/audit-events.md"
    )

"""Data protection end to end: the anthropic SDK against real tutela processes.

One gateway blocks card numbers; the other pseudonymises them (the default) and restores
them in the answer, streamed and not. The offline model echoes the start of the prompt,
so the card comes back in the reply only if the gateway restored it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from tutela.testing.audit import wait_for_request_event
from tutela.testing.process import GatewayProcess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-dlp")]

MODEL = "claude-sonnet-4-6"
CARD = "4111 1111 1111 1111"
PROMPT = [{"role": "user", "content": f"My card is {CARD}, is it safe to share?"}]
BASE = "guards:\n  rate_limits:\n    per_key: {requests_per_minute: 100000}\n"
BLOCKING = BASE + '  dlp:\n    actions: {"fin.credit_card": block}\n'


@pytest.fixture(scope="module")
def blocking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    workdir: Path = tmp_path_factory.mktemp("dlp-block")
    with GatewayProcess(workdir, config_text=BLOCKING) as process:
        yield process


@pytest.fixture(scope="module")
def pseudonymising(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    workdir: Path = tmp_path_factory.mktemp("dlp-pseudonymise")
    with GatewayProcess(workdir, config_text=BASE) as process:
        yield process


def client(gateway: GatewayProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.base_url, api_key=gateway.admin_key, max_retries=0)


def audit_data(gateway: GatewayProcess, request_id: str) -> dict:  # type: ignore[type-arg]
    return wait_for_request_event(gateway.db_url, request_id)


def test_card_is_blocked_naming_the_class_not_the_value(blocking: GatewayProcess) -> None:
    sdk = client(blocking)
    with pytest.raises(anthropic.PermissionDeniedError) as info:
        sdk.messages.create(model=MODEL, max_tokens=200, messages=PROMPT)  # type: ignore[arg-type]
    message = info.value.message
    assert "request blocked by data protection policy: fin.credit_card (1)" in message
    assert CARD not in message and "4111" not in message
    with pytest.raises(anthropic.PermissionDeniedError):
        with sdk.messages.stream(model=MODEL, max_tokens=200, messages=PROMPT) as stream:  # type: ignore[arg-type]
            stream.get_final_message()
    request_id = info.value.response.headers["x-tutela-request-id"]
    data = audit_data(blocking, request_id)
    assert data["dlp"] == {
        "classes": {"fin.credit_card": 1},
        "actions": {"fin.credit_card": "block"},
    }
    assert CARD not in blocking.stderr_text()


def test_card_is_pseudonymised_and_restored(pseudonymising: GatewayProcess) -> None:
    sdk = client(pseudonymising)
    raw = sdk.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=200,
        messages=PROMPT,  # type: ignore[arg-type]
    )
    message = raw.parse()
    text = message.content[0].text  # type: ignore[union-attr]
    assert text.startswith(f"Offline model reply to: My card is {CARD}, is it safe to share?")
    assert "[CARD_1]" not in text
    data = audit_data(pseudonymising, raw.headers["x-tutela-request-id"])
    assert data["dlp"]["actions"] == {"fin.credit_card": "pseudonymise"}
    assert CARD not in json.dumps(data)


def test_card_is_restored_in_a_stream(pseudonymising: GatewayProcess) -> None:
    sdk = client(pseudonymising)
    with sdk.messages.stream(model=MODEL, max_tokens=200, messages=PROMPT) as stream:  # type: ignore[arg-type]
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    plain = sdk.messages.create(model=MODEL, max_tokens=200, messages=PROMPT)  # type: ignore[arg-type]
    assert CARD in streamed and "[CARD_1]" not in streamed
    assert streamed == final.content[0].text == plain.content[0].text  # type: ignore[union-attr]


def test_clean_prompts_pass_untouched(pseudonymising: GatewayProcess) -> None:
    sdk = client(pseudonymising)
    prompt = [{"role": "user", "content": "What does a security gateway do?"}]
    raw = sdk.messages.with_raw_response.create(model=MODEL, max_tokens=100, messages=prompt)  # type: ignore[arg-type]
    text = raw.parse().content[0].text  # type: ignore[union-attr]
    assert text.startswith("Offline model reply to: What does a security gateway do?")
    data = audit_data(pseudonymising, raw.headers["x-tutela-request-id"])
    assert data["dlp"] == {"classes": {}, "actions": {}}


def test_the_engine_is_reported_at_start(blocking: GatewayProcess) -> None:
    text = blocking.stderr_text()
    assert "dlp engine ready" in text
    assert "hyperscan: one database of" in text or "python re fallback" in text

"""The real Claude Code CLI (`claude -p`) against a real tutela process on the offline upstream.

The CLI version is pinned in tests/e2e/claude_code/package.json (+ package-lock.json) and
installed there with ``npm ci`` on first use (node_modules is gitignored). Without npm, or
when the npm registry cannot be reached, the tests skip and say why.

Claude Code runs with a fresh HOME, a tutela key in ANTHROPIC_API_KEY, ``--bare`` (auth is
strictly ANTHROPIC_API_KEY: no keychain, OAuth, hooks, plugins, CLAUDE.md or background
prefetches) and an explicit ``--tools`` list. With its default tool set the offline model
always calls the first tool (``Agent``), each background agent's completion comes back as
a new user turn, and ``claude -p`` never exits; so these tests pick the tools.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest

from tutela.testing.process import GatewayProcess
from tutela.upstream import offline

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-claude-code")]

CLI_DIR = Path(__file__).resolve().parent / "claude_code"
PACKAGE = "@anthropic-ai/claude-code"
PINNED = json.loads((CLI_DIR / "package.json").read_text())["dependencies"][PACKAGE]
MODEL = "claude-sonnet-4-6"
RUN_TIMEOUT = 120
INSTALL_TIMEOUT = 600


# --------------------------------------------------------------------------- the CLI


def _installed_version(binary: Path) -> str | None:
    if not binary.exists():
        return None
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.split()[0] if out.returncode == 0 and out.stdout.strip() else None


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Serialise installs across concurrent pytest runs sharing this checkout."""
    tag = sha256(str(CLI_DIR).encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"tutela-claude-code-{tag}.lock"
    with path.open("w") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, installs are rare anyway
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@pytest.fixture(scope="module")
def claude() -> Path:
    """Path to the pinned ``claude`` binary, installed with ``npm ci`` when missing."""
    binary = CLI_DIR / "node_modules" / ".bin" / "claude"
    if _installed_version(binary) == PINNED:
        return binary
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip(f"Claude Code e2e needs node and npm on PATH (node={node}, npm={npm})")
    with _install_lock():
        if _installed_version(binary) == PINNED:
            return binary
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=CLI_DIR,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm ci for {PACKAGE}@{PINNED} took over {INSTALL_TIMEOUT}s")
        if done.returncode != 0:
            pytest.skip(f"npm ci for {PACKAGE}@{PINNED} failed:\n{_tail(done.stderr)}")
        if _installed_version(binary) != PINNED:
            # The postinstall step links the platform binary over a stub; rerun it if npm
            # was configured to skip install scripts.
            script = CLI_DIR / "node_modules" / PACKAGE / "install.cjs"
            again = subprocess.run(
                [node, str(script)],
                cwd=script.parent,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if _installed_version(binary) != PINNED:
                pytest.skip(
                    f"{PACKAGE}@{PINNED} installed but `claude --version` does not run:\n"
                    f"{_tail(again.stdout + again.stderr)}"
                )
    return binary


def run_claude(
    claude: Path,
    gateway: GatewayProcess,
    key: str,
    home: Path,
    *args: str,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``claude <args>`` pointed at tutela, in a clean environment, killed on timeout."""
    home.mkdir(parents=True, exist_ok=True)
    workdir = cwd or home / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "ANTHROPIC_BASE_URL": gateway.base_url,
        "ANTHROPIC_API_KEY": key,
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    cmd = [str(claude), *args]
    process = subprocess.Popen(
        cmd,
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(
            f"claude did not finish within {RUN_TIMEOUT}s\nstdout:\n{_tail(stdout)}\n"
            f"stderr:\n{_tail(stderr)}\ntutela:\n{_tail(gateway.stderr_text())}"
        )
    return subprocess.CompletedProcess(cmd, process.returncode, stdout, stderr)


# --------------------------------------------------------------------------- tutela side


def new_key(gateway: GatewayProcess, role: str = "analyst") -> str:
    out = gateway.cli("keys", "create", "--workspace", "default", "--role", role, "--json")
    return str(json.loads(out.stdout)["key"])


def key_id(key: str) -> str:
    return key.split("_")[2]


def access_lines(gateway: GatewayProcess) -> list[dict[str, Any]]:
    lines = []
    for raw in gateway.stderr_text().splitlines():
        if raw.startswith("{"):
            entry = json.loads(raw)
            if entry.get("logger") == "tutela.access":
                lines.append(entry)
    return lines


def requests_of(gateway: GatewayProcess, key: str, count: int) -> list[dict[str, Any]]:
    """The access-log lines for ``key``, waiting briefly for ``count`` of them."""
    deadline = time.monotonic() + 5
    while True:
        lines = [e for e in access_lines(gateway) if e.get("key_id") == key_id(key)]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def assert_served_ok(lines: list[dict[str, Any]], count: int) -> None:
    assert len(lines) == count, lines
    for entry in lines:
        assert entry["endpoint"] == "messages" and entry["stream"] is True, entry
        assert (entry["status"], entry["outcome"], entry["model"]) == (200, "ok", MODEL), entry
        assert entry["input_tokens"] > 0 and entry["output_tokens"] > 0, entry


def assert_secrets_absent(gateway: GatewayProcess, *secrets: str) -> None:
    db = gateway.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        audit = "\n".join(row[0] for row in conn.execute("SELECT data FROM audit_events"))
    logged = gateway.stderr_text() + "".join(gateway.stdout_lines)
    for secret in secrets:
        assert secret not in logged
        assert secret not in audit


def offline_text(prompt: str) -> str:
    """What the offline model answers to a one-message conversation, tools off."""
    body = {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": prompt}]}
    return str(offline.create_message(body, "msg_expected")["content"][0]["text"])


# --------------------------------------------------------------------------- tests


def test_print_mode_answers_through_tutela(
    claude: Path, gateway: GatewayProcess, tmp_path: Path
) -> None:
    key = new_key(gateway)
    prompt = "What does a security gateway do?"
    done = run_claude(
        claude, gateway, key, tmp_path, "-p", prompt, "--bare", "--tools", "", "--model", MODEL
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == offline_text(prompt)
    assert done.stdout.startswith("Offline model reply to: What does a security gateway do?")
    assert_served_ok(requests_of(gateway, key, 1), 1)
    assert_secrets_absent(gateway, key, key.split("_", 3)[3])
    assert not [e for e in access_lines(gateway) if e["status"] == 404]


def test_stream_json_relays_the_stream_event_by_event(
    claude: Path, gateway: GatewayProcess, tmp_path: Path
) -> None:
    key = new_key(gateway)
    prompt = "Stream this answer, please."
    done = run_claude(
        claude,
        gateway,
        key,
        tmp_path,
        "-p",
        prompt,
        "--bare",
        "--tools",
        "",
        "--model",
        MODEL,
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    stream = [e["event"] for e in events if e["type"] == "stream_event"]
    kinds = [e["type"] for e in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    deltas = [e["delta"]["text"] for e in stream if e["type"] == "content_block_delta"]
    assert len(deltas) > 1  # really streamed, not one buffered chunk
    result = events[-1]
    assert result["type"] == "result" and result["subtype"] == "success"
    assert result["is_error"] is False and result["num_turns"] == 1
    assert "".join(deltas) == result["result"] == offline_text(prompt)
    assert_served_ok(requests_of(gateway, key, 1), 1)


def test_tool_round_trip_reads_a_file_without_logging_it(
    claude: Path, gateway: GatewayProcess, tmp_path: Path
) -> None:
    key = new_key(gateway)
    workdir = tmp_path / "project"
    workdir.mkdir()
    marker = "tutela-e2e-file-content-7c1d"
    # The offline model fills a string argument with "offline <name>": Read's file_path.
    (workdir / "offline file_path").write_text(f"{marker}\n")
    done = run_claude(
        claude,
        gateway,
        key,
        tmp_path / "home",
        "-p",
        "Read the notes file",
        "--bare",
        "--tools",
        "Read",
        "--model",
        MODEL,
        "--output-format",
        "stream-json",
        "--verbose",
        cwd=workdir,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    blocks = [
        (e["type"], block)
        for e in events
        if e["type"] in ("assistant", "user")
        for block in e["message"]["content"]
        if isinstance(block, dict)
    ]
    calls = [b for role, b in blocks if role == "assistant" and b["type"] == "tool_use"]
    results = [b for role, b in blocks if role == "user" and b["type"] == "tool_result"]
    assert [c["name"] for c in calls] == ["Read"]
    assert len(results) == 1 and results[0]["tool_use_id"] == calls[0]["id"]
    assert marker in json.dumps(results[0]["content"]) and not results[0].get("is_error")
    result = events[-1]
    assert result["type"] == "result" and result["subtype"] == "success"
    assert result["num_turns"] == 2
    assert result["result"].startswith("Offline model received the result from Read.")
    assert_served_ok(requests_of(gateway, key, 2), 2)
    assert_secrets_absent(gateway, key, marker)


def test_refused_key_surfaces_the_audit_id(
    claude: Path, gateway: GatewayProcess, tmp_path: Path
) -> None:
    key = new_key(gateway, role="viewer")
    done = run_claude(
        claude, gateway, key, tmp_path, "-p", "Say hello", "--bare", "--tools", "", "--model", MODEL
    )
    assert done.returncode != 0
    [entry] = requests_of(gateway, key, 1)  # refused once, not retried
    assert (entry["status"], entry["outcome"], entry["error_type"]) == (
        403,
        "refused",
        "permission_error",
    )
    assert entry["request_id"] in done.stdout + done.stderr
    assert_secrets_absent(gateway, key)

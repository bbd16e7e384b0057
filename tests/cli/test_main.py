"""The tutela command line, through click's CliRunner and as a real process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tutela.cli.main import main


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(main, ["workspaces", "create", "default", "--db", url])
    assert result.exit_code == 0, result.output
    return url


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


def test_keys_create_list_revoke(db: str) -> None:
    created = run(
        "keys",
        "create",
        "--workspace",
        "default",
        "--role",
        "analyst",
        "--name",
        "ci",
        "--json",
        "--db",
        db,
    )
    assert created.exit_code == 0, created.output
    key = json.loads(created.output)
    assert key["key"].startswith("tutela_sk_") and key["role"] == "analyst"

    listed = run("keys", "list", "--json", "--db", db)
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert [r["id"] for r in rows] == [key["id"]]
    assert key["key"] not in listed.output and "secret" not in listed.output

    human = run("keys", "list", "--db", db)
    assert key["id"] in human.output and "active" in human.output

    revoked = run("keys", "revoke", key["key"], "--db", db)  # a pasted whole key works too
    assert revoked.exit_code == 0 and key["key"] not in revoked.output
    assert json.loads(run("keys", "list", "--json", "--db", db).output)[0]["revoked_at"]


def test_keys_create_text_output_shows_the_secret_once(db: str) -> None:
    result = run("keys", "create", "-w", "default", "-r", "viewer", "--db", db)
    assert result.exit_code == 0
    assert result.output.count("tutela_sk_") == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["keys", "create", "--workspace", "nowhere", "--role", "analyst"],
            1,
            "no workspace named",
        ),
        (["keys", "create", "--workspace", "default", "--role", "god"], 1, "unknown role"),
        (["keys", "revoke", "0000000000000000"], 1, "no key with id"),
        (["keys", "create", "--role", "analyst"], 2, "Missing option"),
    ],
)
def test_errors_have_exit_codes_and_messages(
    db: str, args: list[str], code: int, message: str
) -> None:
    result = run(*args, "--db", db)
    assert result.exit_code == code
    assert message in result.output


def test_keys_are_audited(db: str) -> None:
    from tutela.store.database import Store

    run("keys", "create", "-w", "default", "-r", "analyst", "--db", db)
    store = Store(db)
    types = sorted(e["event_type"] for e in store.audit_events())
    assert types == ["api_key.created", "workspace.created"]
    store.close()


def test_policy_check(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("guards:\n  limits: {max_messages: 10}\n")
    assert run("policy", "check", str(good)).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("guards:\n  limits:\n    max_mesages: 10\n")
    result = run("policy", "check", str(bad))
    assert result.exit_code == 1
    assert "bad.yaml:3: guards.limits.max_mesages" in result.output
    stdin = CliRunner().invoke(main, ["policy", "check", "-"], input="gateway: {port: x}\n")
    assert stdin.exit_code == 1 and "<stdin>:1: gateway.port" in stdin.output


def test_workspaces_list_and_duplicate(db: str) -> None:
    assert (
        json.loads(run("workspaces", "list", "--json", "--db", db).output)[0]["name"] == "default"
    )
    dup = run("workspaces", "create", "default", "--db", db)
    assert dup.exit_code == 1 and "already exists" in dup.output


def test_unreachable_database_is_exit_1() -> None:
    result = run("keys", "list", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert result.exit_code == 1 and "cannot reach database" in result.output


def test_serve_refuses_a_bad_policy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("upstreams:\n  a: {type: magic}\n")
    result = run("serve", "--config", str(bad), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code == 1 and "bad.yaml:2: upstreams.a.type" in result.output


def test_serve_with_its_port_taken_exits_1_before_minting_a_key(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = tmp_path / "t.db"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tutela.cli.main",
                "serve",
                "--db",
                f"sqlite:///{db}",
                "--port",
                str(port),
                "--admin-port",
                "0",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "tutela_sk_" not in result.stdout
    assert not db.exists()  # no first key was minted that nobody saw

"""keys rotate, rotation-policy flags in keys list, break-glass, access review."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tutela.cli.main import main
from tutela.store import schema
from tutela.store.database import Store


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert CliRunner().invoke(main, ["workspaces", "create", "default", "--db", url]).exit_code == 0
    return url


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


def create(db: str, role: str = "analyst") -> dict:  # type: ignore[type-arg]
    result = run("keys", "create", "-w", "default", "-r", role, "--json", "--db", db)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_keys_rotate_prints_the_successor_once_and_marks_the_old_key(db: str) -> None:
    key = create(db)
    rotated = run("keys", "rotate", key["id"], "--overlap-hours", "2", "--json", "--db", db)
    assert rotated.exit_code == 0, rotated.output
    result = json.loads(rotated.output)
    assert result["new"]["key"].startswith("tutela_sk_") and result["new"]["role"] == "analyst"
    assert result["old"]["replaced_by"] == result["new"]["id"]
    listing = json.loads(run("keys", "list", "--json", "--db", db).output)
    states = {k["id"]: k["state"] for k in listing}
    assert states == {key["id"]: "rotating", result["new"]["id"]: "active"}
    assert result["new"]["key"] not in run("keys", "list", "--db", db).output
    again = run("keys", "rotate", key["id"], "--db", db)
    assert again.exit_code == 1 and "only an active key rotates" in again.output
    # pasting the whole key works, and the secret is never echoed back
    pasted = run("keys", "rotate", result["new"]["key"], "--overlap-hours", "0", "--db", db)
    assert pasted.exit_code == 0 and result["new"]["key"] not in pasted.output
    store = Store(db)
    try:
        events = [r["event_type"] for r in store.audit_events()]
    finally:
        store.close()
    assert events.count("api_key.rotated") == 2


def test_overlap_longer_than_policy_is_refused(db: str, tmp_path: Path) -> None:
    key = create(db)
    policy = tmp_path / "p.yaml"
    policy.write_text("identity:\n  keys: {rotation_overlap_hours: 1}\n")
    result = run("keys", "rotate", key["id"], "--overlap-hours", "5", "--config", str(policy),
                 "--db", db)
    assert result.exit_code == 1 and "capped" in result.output


def test_keys_past_the_rotation_policy_are_flagged(db: str) -> None:
    key = create(db)
    store = Store(db)
    try:
        with store.engine.begin() as connection:
            connection.execute(
                schema.api_keys.update()
                .where(schema.api_keys.c.id == key["id"])
                .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=100))
            )
    finally:
        store.close()
    human = run("keys", "list", "--db", db)
    assert "OVERDUE for rotation" in human.output
    [row] = json.loads(run("keys", "list", "--json", "--db", db).output)
    assert row["rotation_overdue"] is True and row["age_days"] == 100
    review = json.loads(run("access", "review", "--json", "--db", db).output)
    [listed] = review["workspaces"][0]["keys"]
    assert "rotation_overdue" in listed["flags"] and "never_used" in listed["flags"]


def test_break_glass_enable_shows_credentials_once_and_disable_removes_them(db: str) -> None:
    enabled = run("break-glass", "enable", "--email", "Root@Example.com", "--db", db)
    assert enabled.exit_code == 0, enabled.output
    password = enabled.output.split("password: ")[1].split()[0]
    uri = enabled.output.split("authenticator app): ")[1].split()[0]
    assert pyotp.parse_uri(uri).now().isdigit()
    store = Store(db)
    try:
        row = store.engine.connect().execute(sa.select(schema.users)).one()
        assert row.email == "root@example.com" and row.org_role == "owner"
        assert password not in str(row.password_hash) and row.password_hash.startswith("$argon2id$")
        assert password not in str(store.audit_events())
    finally:
        store.close()
    review = json.loads(run("access", "review", "--json", "--db", db).output)
    assert review["owners"][0]["email"] == "root@example.com"
    assert run("break-glass", "disable", "--email", "root@example.com", "--db", db).exit_code == 0
    assert run("break-glass", "disable", "--email", "root@example.com", "--db", db).exit_code == 1


def test_break_glass_refused_when_policy_disables_it(db: str, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("identity:\n  break_glass: {enabled: false}\n")
    result = run("break-glass", "enable", "--email", "a@b.c", "--config", str(policy), "--db", db)
    assert result.exit_code == 1 and "disabled by policy" in result.output

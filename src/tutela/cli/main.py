"""The ``tutela`` command: thin over the library.

Exit codes: 0 success, 1 an error (bad policy, unknown workspace, unreachable database;
for ``scan``, any malformed input line; for ``redact``, a class the policy blocks), 2 a
usage error (unknown option, missing argument).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
from typing import Any

import click
import orjson

from tutela.cli.common import (
    config_option,
    db_option,
    json_option,
    progress_bar,
)
from tutela.cli.common import fail as _fail
from tutela.cli.common import load as _load
from tutela.cli.common import policy_of as _policy
from tutela.errors import TutelaError
from tutela.policy import load_policy


def _store(config: str | None, db: str | None) -> Any:
    return _load(config, db)[1]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tutela")
def main() -> None:
    """tutela: a self-hosted security gateway for Anthropic's Claude."""


@main.command()
@config_option
@db_option
@click.option("--host", default=None, help="Listen address for both ports (default 127.0.0.1).")
@click.option("--port", "gateway_port", type=int, default=None, help="Gateway port (default 8080).")
@click.option("--admin-port", type=int, default=None, help="Admin API port (default 8081).")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Gateway processes sharing the port (one per core in production). In-process "
    "rate-limit counters are per worker: use backend: redis to share them.",
)
def serve(
    config: str | None,
    db: str | None,
    host: str | None,
    gateway_port: int | None,
    admin_port: int | None,
    workers: int,
) -> None:
    """Start the gateway and the admin API."""
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        import tempfile

        # Before prometheus_client is imported: every worker's metrics go to shared files.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tutela-metrics-")
    from tutela import logs
    from tutela.server import bootstrap, first_key_banner, listen, run_workers
    from tutela.server import serve as serve_async

    policy = _policy(config)
    logs.configure(policy.logging.level)
    chosen_host = host or policy.gateway.host
    chosen_port = policy.gateway.port if gateway_port is None else gateway_port
    # Bind first: a port in use is one clear error (exit 1), before the first-start key is
    # minted, so that key is never created without being shown.
    sockets = (
        listen(chosen_host, chosen_port),
        listen(host or policy.admin.host, policy.admin.port if admin_port is None else admin_port),
    )
    store = _store(config, db)
    minted = bootstrap(store)

    def ready(gw: int, adm: int) -> None:
        if minted is not None:
            click.echo(first_key_banner(minted, chosen_host, gw))
        click.echo(
            f"tutela: gateway on http://{chosen_host}:{gw}  admin on http://{host or policy.admin.host}:{adm}",
            err=False,
        )
        sys.stdout.flush()

    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - platforms without uvloop
        runner = asyncio.run
    if workers == 1:
        try:
            runner(serve_async(policy, store, on_ready=ready, sockets=sockets))
        except TutelaError as exc:
            _fail(str(exc))
        finally:
            store.close()
        return

    from tutela.store.database import Store

    url = store.url
    store.close()  # each worker opens its own connections after the fork

    def worker(index: int, sockets: Any) -> None:
        own = Store(url)
        try:
            runner(
                serve_async(policy, own, on_ready=ready if index == 0 else None, sockets=sockets)
            )
        finally:
            own.close()

    raise SystemExit(run_workers(workers, worker, sockets))


@main.group()
def keys() -> None:
    """Create, list, rotate and revoke API keys."""


@keys.command("create")
@click.option("--workspace", "-w", required=True, help="Workspace the key belongs to.")
@click.option("--role", "-r", required=True, help="Role: admin, analyst, viewer or a custom role.")
@click.option("--name", default="", help="A label to recognise the key by.")
@click.option(
    "--expires-in-days",
    type=click.IntRange(min=1),
    default=None,
    help="Expire the key after this many days.",
)
@config_option
@db_option
@json_option
def keys_create(
    workspace: str,
    role: str,
    name: str,
    expires_in_days: int | None,
    config: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Create a key. Its secret is printed once and stored only as a hash."""
    from tutela.audit.events import cli_actor, key_event
    from tutela.identity.api_keys import mint_key
    from tutela.identity.roles import Roles

    policy = _policy(config)
    store = _store(config, db)
    cap = policy.identity.keys.max_expiry_days
    if cap and (expires_in_days or cap) > cap:
        _fail(f"--expires-in-days is capped at {cap} by policy (identity.keys.max_expiry_days)")
    days = expires_in_days or cap or None
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
    try:
        minted = mint_key(
            store,
            workspace=workspace,
            role=role,
            name=name,
            expires_at=expires,
            roles=Roles.from_policy(policy),
            created_by="cli",
        )
    except TutelaError as exc:
        _fail(str(exc))
    store.append_audit(
        [key_event("created", minted.record.public(), cli_actor(), minted.record.workspace_id)]
    )
    if as_json:
        click.echo(orjson.dumps({**minted.record.public(), "key": minted.secret}).decode())
    else:
        click.echo(f"created key {minted.record.id} in workspace {workspace!r} with role {role!r}")
        click.echo("This key is shown once; store it now:")
        click.echo(minted.secret)


@keys.command("list")
@click.option("--workspace", "-w", default=None, help="Only this workspace's keys.")
@config_option
@db_option
@json_option
def keys_list(workspace: str | None, config: str | None, db: str | None, as_json: bool) -> None:
    """List keys (never their secrets), with state and rotation status.

    A key older than the rotation policy (identity.keys.max_age_days, 90 by default) is
    flagged OVERDUE."""
    from tutela.identity.api_keys import key_status
    from tutela.store.database import utcnow

    max_age = _policy(config).identity.keys.max_age_days
    store = _store(config, db)
    now = utcnow()
    records = [key_status(record, now, max_age) for record in store.list_keys(workspace)]
    if as_json:
        click.echo(orjson.dumps(records).decode())
        return
    if not records:
        click.echo("no keys")
        return
    for record in records:
        flag = "  OVERDUE for rotation" if record["rotation_overdue"] else ""
        last = str(record["last_used_at"] or "never")[:19]
        click.echo(
            f"{record['id']}  {record['workspace']:<16} {record['role']:<12} "
            f"{record['state']:<9} age {record['age_days']:>4}d  last used {last:<19}  "
            f"{record['name']}{flag}"
        )


@keys.command("revoke")
@click.argument("key_id")
@config_option
@db_option
@json_option
def keys_revoke(key_id: str, config: str | None, db: str | None, as_json: bool) -> None:
    """Revoke a key by its id; every gateway refuses it within a second."""
    from tutela.audit.events import cli_actor, key_event
    from tutela.identity.api_keys import parse_key

    parsed = parse_key(key_id)
    if parsed is not None:  # a whole key was pasted: use its id, never echo the secret
        key_id = parsed[0]
    from tutela.identity.revocation import announce

    store = _store(config, db)
    record = store.revoke_key(key_id)
    if record is None:
        _fail(f"no key with id {key_id!r}")
        return
    announce(_policy(config).redis_url(), "key", record.id)  # every replica forgets it now
    after = record.public()
    store.append_audit(
        [
            key_event(
                "revoked",
                after,
                cli_actor(),
                record.workspace_id,
                before={**after, "revoked_at": None},
            )
        ]
    )
    if as_json:
        click.echo(orjson.dumps(record.public()).decode())
    else:
        click.echo(f"revoked key {record.id}")


@keys.command("rotate")
@click.argument("key_id")
@click.option(
    "--overlap-hours",
    type=click.FloatRange(min=0),
    default=None,
    help="How long the old key keeps working (default and maximum: the policy's "
    "identity.keys.rotation_overlap_hours).",
)
@click.option(
    "--expires-in-days",
    type=click.IntRange(min=1),
    default=None,
    help="Expire the new key after this many days.",
)
@config_option
@db_option
@json_option
def keys_rotate(
    key_id: str,
    overlap_hours: float | None,
    expires_in_days: int | None,
    config: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Rotate a key: print its successor once; the old key stops after the overlap."""
    from tutela.audit.events import cli_actor, key_event
    from tutela.identity.api_keys import parse_key, rotate_key
    from tutela.identity.roles import Roles

    parsed = parse_key(key_id)
    if parsed is not None:  # a whole key was pasted: use its id, never echo the secret
        key_id = parsed[0]
    policy = _policy(config)
    limit = policy.identity.keys.rotation_overlap_hours
    hours = limit if overlap_hours is None else overlap_hours
    if hours > limit:
        _fail(f"--overlap-hours is capped at {limit} by policy")
    store = _store(config, db)
    record = store.find_key(key_id)
    if record is None:
        _fail(f"no key with id {key_id!r}")
        return
    cap = policy.identity.keys.max_expiry_days
    days = expires_in_days or cap or None
    if cap and days and days > cap:
        _fail(f"--expires-in-days is capped at {cap} by policy")
    try:
        old, minted = rotate_key(
            store,
            key_id,
            workspace=record.workspace,
            overlap=dt.timedelta(hours=hours),
            roles=Roles.from_policy(policy),
            created_by="cli",
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None,
        )
    except TutelaError as exc:
        _fail(str(exc))
    store.append_audit(
        [
            key_event(
                "rotated", old.public(), cli_actor(), old.workspace_id,
                before=record.public(), correlation_uid=minted.record.id,
            ),
            key_event(
                "created", minted.record.public(), cli_actor(), old.workspace_id,
                correlation_uid=minted.record.id,
            ),
        ]
    )
    if as_json:
        click.echo(
            orjson.dumps(
                {"old": old.public(), "new": {**minted.record.public(), "key": minted.secret}}
            ).decode()
        )
        return
    until = old.expires_at.isoformat()[:19] if old.expires_at else "now"
    click.echo(f"rotated key {old.id} -> {minted.record.id}; the old key works until {until} UTC")
    click.echo("The new key is shown once; store it now:")
    click.echo(minted.secret)


@main.group("break-glass")
def break_glass_group() -> None:
    """The local owner for first start and IdP outages (password + TOTP)."""


@break_glass_group.command("enable")
@click.option("--email", required=True, help="The local owner's sign-in name.")
@config_option
@db_option
def break_glass_enable(email: str, config: str | None, db: str | None) -> None:
    """Create or reset the break-glass owner; prints its password and TOTP URI once."""
    from tutela.identity import break_glass
    from tutela.identity.events import change_event as access_change_event
    from tutela.store.identity import IdentityStore

    if not _policy(config).identity.break_glass.enabled:
        _fail("break-glass is disabled by policy (identity.break_glass.enabled: false)")
    store = _store(config, db)
    creds = break_glass.enable(IdentityStore(store), email)
    store.append_audit(
        [
            access_change_event(
                "user.break_glass_enabled",
                actor="cli",
                workspace_id=None,
                target=creds.email,
                after={"email": creds.email, "org_role": "owner"},
            )
        ]
    )
    click.echo(f"break-glass owner {creds.email}: these are shown once; store them offline.")
    click.echo(f"password: {creds.password}")
    click.echo(f"TOTP (add to an authenticator app): {creds.totp_uri}")
    click.echo("Sign in: POST /sso/break-glass on the admin port with email, password, totp.")


@break_glass_group.command("disable")
@click.option("--email", required=True, help="The local owner's sign-in name.")
@config_option
@db_option
def break_glass_disable(email: str, config: str | None, db: str | None) -> None:
    """Remove the break-glass owner's password and TOTP and end its sessions."""
    from tutela.identity import break_glass
    from tutela.identity.events import change_event as access_change_event
    from tutela.store.identity import IdentityStore

    store = _store(config, db)
    if not break_glass.disable(IdentityStore(store), email.lower()):
        _fail(f"no break-glass owner {email!r}")
    store.append_audit(
        [
            access_change_event(
                "user.break_glass_disabled", actor="cli", workspace_id=None, target=email.lower()
            )
        ]
    )
    click.echo(f"break-glass owner {email.lower()} disabled")


@main.group()
def access() -> None:
    """Access reviews."""


@access.command("review")
@click.option(
    "--inactive-days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Flag members and keys unused for this long.",
)
@config_option
@db_option
@json_option
def access_review(inactive_days: int, config: str | None, db: str | None, as_json: bool) -> None:
    """The monthly access review: members, roles and last activity; keys by age; flags
    inactive or disabled people and keys overdue for rotation."""
    from tutela.identity.review import access_review as review

    policy = _policy(config)
    store = _store(config, db)
    report = review(
        store, max_age_days=policy.identity.keys.max_age_days, inactive_days=inactive_days
    )
    if as_json:
        click.echo(orjson.dumps(report).decode())
        return
    for space in report["workspaces"]:
        click.echo(f"workspace {space['name']}")
        for member in space["members"]:
            flags = ", ".join(member["flags"])
            click.echo(
                f"  member {member['email']:<32} {member['role']:<12} last sign-in "
                f"{str(member['last_login_at'] or 'never')[:19]:<19} {flags}"
            )
        for key in space["keys"]:
            flags = ", ".join(key["flags"])
            click.echo(
                f"  key    {key['id']:<32} {key['role']:<12} age {key['age_days']:>4}d  "
                f"last used {str(key['last_used_at'] or 'never')[:19]:<19} {flags}"
            )
    for owner in report["owners"]:
        click.echo(f"org owner {owner['email']}  {', '.join(owner['flags'])}")


@main.group()
def workspaces() -> None:
    """Create and list workspaces."""


@workspaces.command("create")
@click.argument("name")
@config_option
@db_option
def workspaces_create(name: str, config: str | None, db: str | None) -> None:
    """Create a workspace."""
    from tutela.audit.events import cli_actor, workspace_event

    store = _store(config, db)
    try:
        record = store.create_workspace(name)
    except TutelaError as exc:
        _fail(str(exc))
    store.append_audit([workspace_event("created", name, record.id, cli_actor())])
    click.echo(f"created workspace {name!r} ({record.id})")


@workspaces.command("list")
@config_option
@db_option
@json_option
def workspaces_list(config: str | None, db: str | None, as_json: bool) -> None:
    """List workspaces."""
    store = _store(config, db)
    rows = [
        {"id": w.id, "name": w.name, "created_at": w.created_at.isoformat()}
        for w in store.list_workspaces()
    ]
    if as_json:
        click.echo(orjson.dumps(rows).decode())
    else:
        for row in rows:
            click.echo(f"{row['id']}  {row['name']}")


@main.group()
def policy() -> None:
    """Work with policy files."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def policy_check(file: str) -> None:
    """Validate a policy file; errors name the file, line and key."""
    from tutela.policy import parse_policy

    try:
        if file == "-":
            parse_policy(sys.stdin.read(), "<stdin>")
        else:
            load_policy(file)
    except TutelaError as exc:
        _fail(str(exc))
    click.echo(f"{file}: ok")


def _dlp(config: str | None) -> Any:
    from tutela.guards.dlp import scanner_config, shared_scanner

    settings = _policy(config).guards.dlp
    try:
        return settings, shared_scanner(scanner_config(settings))
    except (OSError, ValueError, RuntimeError) as exc:
        _fail(f"cannot build the data-protection scanner: {exc}")
        raise  # unreachable


def _scan_line(line: bytes) -> tuple[Any, str, Any] | str:
    """(id, text, source) of one JSON Lines record, or the problem with it."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:  # the standard library also accepts lone surrogates ("\ud800")
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return f"not valid JSON ({type(exc).__name__})"
    if not isinstance(record, dict):
        return 'expected a JSON object {"id": ..., "text": ...}'
    if "id" not in record:
        return 'missing "id"'
    if not isinstance(record["id"], str | int) or isinstance(record["id"], bool):
        return '"id" must be a string or an integer'
    text = record.get("text")
    if not isinstance(text, str):
        return '"text" must be a string'
    from tutela.injection.detector import SOURCES

    source = record.get("source", "user")
    if source not in SOURCES:
        return '"source" must be one of: ' + ", ".join(SOURCES)
    return record["id"], text, source


def _dump(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record) + b"\n"
    except TypeError:  # an id with a lone surrogate
        return json.dumps(record).encode() + b"\n"


@main.command()
@click.option(
    "--input",
    "input_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help='JSON Lines to scan, one {"id": ..., "text": ..., "source"?: ...} per line ("-" is stdin).',
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    show_default=True,
    help='Where to write {"id": ..., "findings": [...], "injection": {...}} lines ("-" is stdout).',
)
@config_option
def scan(input_path: str, output_path: str, config: str | None) -> None:
    """Find sensitive data and prompt injection in JSON Lines: one answer per input line.

    Findings are {"class", "start", "end", "score"} with offsets as Python string indices
    into "text". "injection" is {"score": 0..1, "flagged": bool}; an input line's optional
    "source" (user, the default; document; tool_result) selects the threshold "flagged"
    uses, the policy's (the defaults without --config). Use it as the check before
    indexing documents for retrieval. Malformed lines are reported on stderr with their
    line number and skipped; the exit code is then 1.
    """
    _settings, scanner = _dlp(config)
    from tutela.injection.detector import SOURCES, shared_detector

    injection = _policy(config).guards.injection
    thresholds = {name: injection.source(name).threshold for name in SOURCES}
    detector = shared_detector()
    try:
        source = click.open_file(input_path, "rb")
    except OSError as exc:
        _fail(f"{input_path}: cannot read: {exc.strerror}")
    total = None
    if input_path != "-":
        with contextlib.suppress(OSError):
            total = os.path.getsize(input_path)
    bad = 0
    records = 0
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(source)
        sink = stack.enter_context(click.open_file(output_path, "wb"))
        progress = progress_bar(stack, "scanning", total, in_bytes=True)
        interactive = output_path == "-"
        for number, line in enumerate(source, start=1):
            if progress is not None:
                progress(len(line))
            if not line.strip():
                continue
            parsed = _scan_line(line)
            if isinstance(parsed, str):
                bad += 1
                click.echo(f"line {number}: {parsed}", err=True)
                continue
            record_id, text, text_source = parsed
            findings = [span.as_dict() for span in scanner.scan(text)]
            detection = detector.scan(text, text_source, thresholds)
            verdict = {"score": detection.score, "flagged": detection.flagged}
            sink.write(_dump({"id": record_id, "findings": findings, "injection": verdict}))
            if interactive:
                sink.flush()  # a pipeline reading our answers as it writes its questions
            records += 1
    if bad:
        click.echo(f"scanned {records} records; {bad} malformed lines skipped", err=True)
        raise SystemExit(1)


@main.command()
@click.option(
    "--input",
    "input_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help='Text to redact ("-" is stdin).',
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    show_default=True,
    help='Where to write the redacted text ("-" is stdout).',
)
@click.option("--workspace", "-w", default="", help="Apply this workspace's actions.")
@click.option("--role", "-r", default="", help="Apply this role's actions.")
@config_option
@json_option
def redact(
    input_path: str,
    output_path: str,
    workspace: str,
    role: str,
    config: str | None,
    as_json: bool,
) -> None:
    """Apply the policy's data-protection actions to text.

    Each class found is allowed, masked, redacted or pseudonymised as guards.dlp.actions
    says (with workspace and role overrides). If any class is blocked, nothing is written
    and the classes (never the values) are named on stderr; the exit code is 1.
    """
    from tutela.guards.dlp import ActionResolver
    from tutela.redaction import Vault, apply_policy

    settings, scanner = _dlp(config)
    try:
        with click.open_file(input_path, "r", encoding="utf-8") as source:
            text = source.read()
    except OSError as exc:
        _fail(f"{input_path}: cannot read: {exc.strerror}")
    except UnicodeDecodeError:
        _fail(f"{input_path}: not UTF-8 text")
    resolver = ActionResolver(settings)
    spans = scanner.scan(text)
    actions = {cls: resolver.action(cls, workspace, role) for cls in {s.cls for s in spans}}
    result = apply_policy(text, spans, actions, Vault())
    if result.blocked:
        counted = ", ".join(f"{c} ({result.counts[c]})" for c in result.blocked_classes)
        _fail(f"blocked by data protection policy: {counted}")
    with click.open_file(output_path, "w", encoding="utf-8") as sink:
        if as_json:
            sink.write(
                orjson.dumps(
                    {"text": result.text, "classes": result.counts, "actions": result.actions}
                ).decode()
                + "\n"
            )
        else:
            sink.write(result.text)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
@db_option
def db_upgrade(config: str | None, db: str | None) -> None:
    """Apply database migrations (serve does this on start too)."""
    _store(config, db)
    click.echo("database is up to date")


def _register() -> None:
    from tutela.cli.audit import audit

    main.add_command(audit)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()

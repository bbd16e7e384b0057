"""``tutela audit``: verify the chain, search, export (itself audited), checkpoint, keys."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from tutela.cli.common import config_option, db_option, fail, json_option, load, progress_bar
from tutela.errors import TutelaError


def parse_when(text: str | None) -> dt.datetime | None:
    from tutela.audit.search import parse_when as parse

    try:
        return parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group()
def audit() -> None:
    """Verify, search and export the audit trail."""


def _signer(policy: Any, store: Any) -> Any:
    from tutela.audit.chain import Signer

    settings = policy.audit
    try:
        return Signer.load(env=settings.signing_key_env, path=settings.key_path(store.url))
    except TutelaError as exc:
        fail(str(exc))


def _trusted(policy: Any, store: Any, extra: tuple[str, ...]) -> Any:
    from tutela.audit.chain import trusted_keys

    settings = policy.audit
    try:
        signer = _signer(policy, store)
        return trusted_keys(signer, (*settings.trusted_public_keys, *extra))
    except TutelaError as exc:
        fail(str(exc))


@audit.command("verify")
@click.option("--from", "from_seq", type=int, default=None, help="First record to verify.")
@click.option("--to", "to_seq", type=int, default=None, help="Last record to verify.")
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    help="Also trust this Ed25519 public key (base64 or PEM); repeatable.",
)
@config_option
@db_option
@json_option
def verify(
    from_seq: int | None,
    to_seq: int | None,
    public_keys: tuple[str, ...],
    config: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Prove the chain is intact: exit 0 if it is, 1 naming the first bad record if not."""
    from tutela.audit.chain import verify_store

    policy, store = load(config, db)
    trusted = _trusted(policy, store, public_keys)
    with contextlib.ExitStack() as stack:
        report = verify_store(
            store,
            trusted,
            from_seq=from_seq,
            to_seq=to_seq,
            progress=progress_bar(stack, "verifying", store.chain_head()[0]),
        )
    problem = report.problems[0] if report.problems else None
    if as_json:
        click.echo(
            orjson.dumps(
                {
                    "ok": report.ok,
                    "records": report.records,
                    "first_seq": report.first_seq,
                    "last_seq": report.last_seq,
                    "checkpoints": report.checkpoints,
                    "legacy_records": report.legacy,
                    "problem": None
                    if problem is None
                    else {
                        "kind": problem.kind,
                        "seq": problem.seq,
                        "checkpoint": problem.checkpoint,
                        "detail": problem.detail,
                    },
                }
            ).decode()
        )
    elif problem is None:
        click.echo(
            f"audit chain intact: {report.records} records "
            f"({report.first_seq}..{report.last_seq}), {report.checkpoints} signed checkpoints"
            + (f", {report.legacy} legacy records before the chain" if report.legacy else "")
        )
    else:
        click.echo(f"AUDIT CHAIN BROKEN: {problem}", err=True)
    raise SystemExit(0 if report.ok else 1)


def _filters(store: Any, **given: Any) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if given.get("workspace"):
        record = store.get_workspace(given["workspace"])
        if record is None:
            fail(f"no workspace named {given['workspace']!r}")
        filters["workspace_id"] = record.id
    for name in ("event_type", "actor", "finding_class", "request_id"):
        if given.get(name):
            filters[name] = given[name]
    if given.get("key"):
        filters["actor"] = given["key"]
    filters["since"] = parse_when(given.get("since"))
    filters["until"] = parse_when(given.get("until"))
    return {k: v for k, v in filters.items() if v is not None}


def _filter_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--since", default=None, help="From this time (ISO 8601, or 24h, 7d)."),
            click.option("--until", default=None, help="Before this time."),
            click.option("--workspace", "-w", default=None, help="Workspace name."),
            click.option("--user", "actor", default=None, help="Actor id (user or cli:<name>)."),
            click.option("--key", default=None, help="API key id."),
            click.option("--type", "event_type", default=None, help="Event type, or family.*"),
            click.option("--class", "finding_class", default=None, help="A class found, e.g. pii.email."),
            click.option("--request-id", default=None, help="One request's events."),
        ]
    ):
        func = option(func)
    return func


@audit.command("search")
@_filter_options
@click.option("--limit", type=int, default=100, show_default=True)
@config_option
@db_option
@json_option
def search(limit: int, config: str | None, db: str | None, as_json: bool, **given: Any) -> None:
    """Find events, newest first."""
    _, store = load(config, db)
    rows = store.search_audit(**_filters(store, **given), limit=limit)
    if as_json:
        for row in rows:
            click.echo(row["data"])
        return
    if not rows:
        click.echo("no matching events")
    for row in rows:
        click.echo(
            f"{row['seq']:>8}  {row['ts'].isoformat(timespec='milliseconds')}  "
            f"{row['event_type']:<18} {row['outcome']:<16} {row['actor']:<20} "
            f"{row['workspace_id'] or '-'}"
        )




@audit.command("export")
@_filter_options
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option("--out", "out", type=click.Path(dir_okay=False), default="-", help="File, or - for stdout.")
@click.option("--limit", type=int, default=1_000_000, show_default=True)
@config_option
@db_option
def export(
    fmt: str, out: str, limit: int, config: str | None, db: str | None, **given: Any
) -> None:
    """Export events (oldest first) as JSON Lines or CSV. The export is itself audited."""
    from tutela.audit.events import DataExport, cli_actor

    _, store = load(config, db)
    filters = _filters(store, **given)
    rows = store.search_audit(**filters, limit=limit, oldest_first=True)
    from tutela.audit.search import render_export

    text = render_export(rows, fmt)
    from tutela.audit.search import shown
    store.append_audit(
        [
            DataExport(
                activity="audit_events",
                actor=cli_actor(),
                workspace_id=filters.get("workspace_id"),
                format=fmt,
                count=len(rows),
                filters=shown(filters),
            )
        ]
    )
    if out == "-":
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"exported {len(rows)} events to {out}", err=True)


@audit.command("checkpoint")
@config_option
@db_option
def checkpoint(config: str | None, db: str | None) -> None:
    """Sign a checkpoint over the chain's head now."""
    import time

    policy, store = load(config, db)
    signer = _signer(policy, store)
    seq, head = store.chain_head()
    number = store.add_checkpoint(signer.sign(seq, head, int(time.time() * 1000)))
    click.echo(f"checkpoint {number}: record {seq}, head {head[:16]}..., key {signer.key_id}")


@audit.command("public-key")
@config_option
def public_key(config: str | None) -> None:
    """Print the audit signing key's public half (give it to whoever verifies)."""
    from tutela.audit.chain import Signer, encode_public
    from tutela.cli.common import policy_of

    settings = policy_of(config).audit
    signer = Signer.load(env=settings.signing_key_env, path=Path(settings.signing_key_file))
    click.echo(f"{encode_public(signer.public)}  key_id={signer.key_id}")


@audit.command("content")
@click.argument("request_id")
@config_option
@db_option
def content(request_id: str, config: str | None, db: str | None) -> None:
    """Decrypt one request's logged prompt and response. The reading is audited first."""
    from tutela.audit.content import ContentVault
    from tutela.audit.events import ContentAccess, cli_actor

    policy, store = load(config, db)
    row = store.content(request_id)
    if row is None:
        fail(f"no logged content for {request_id!r} (content logging is off by default)")
    try:
        vault = ContentVault.from_env(store, policy.audit.content_master_key_env)
    except TutelaError as exc:
        fail(str(exc))
    store.append_audit(
        [
            ContentAccess(
                activity="decrypted",
                actor=cli_actor(),
                workspace_id=row["workspace_id"],
                request_id=request_id,
                key_version=int(row["key_version"]),
            )
        ]
    )
    try:
        plaintext = vault.open(row["workspace_id"], request_id, row)
    except Exception as exc:  # wrong key, moved or altered row: never partial output
        fail(f"cannot decrypt the content of {request_id}: {type(exc).__name__}")
    click.echo(plaintext.decode("utf-8"))


@audit.command("purge")
@click.option("--before", required=True, help="Remove records older than this (ISO 8601, or 180d).")
@click.option("--policy", "retention", default="manual", help="The retention rule, for the record.")
@click.option("--yes", is_flag=True, help="Do it; without this, only say what would go.")
@config_option
@db_option
def purge(before: str, retention: str, yes: bool, config: str | None, db: str | None) -> None:
    """Remove old records in whole checkpointed segments, leaving a signed anchor.

    Only records up to the newest signed checkpoint older than --before go, so what
    remains starts right after a checkpointed head; an ``audit.purged`` event names that
    record and its hash, and ``tutela audit verify`` resumes from it."""
    from tutela.audit.events import AuditPurge, cli_actor

    policy, store = load(config, db)
    cutoff = parse_when(before)
    assert cutoff is not None
    older = store.search_audit(until=cutoff, limit=1)
    candidates = [cp for cp in store.checkpoints() if older and cp["seq"] <= older[0]["seq"]]
    if not candidates:
        click.echo("nothing to purge: no signed checkpoint covers records that old")
        return
    through = max(int(cp["seq"]) for cp in candidates)
    anchor = next(iter(store.audit_rows(through, through)), None)
    if anchor is None or anchor["hash"] is None:
        fail(f"record {through} is missing or predates the chain; run tutela audit verify")
    count = sum(1 for _ in store.audit_rows(0, through))
    if not yes:
        click.echo(f"would remove {count} records up to {through}; add --yes to do it")
        return
    store.append_audit(
        [
            AuditPurge(
                activity="purged",
                actor=cli_actor(),
                through_seq=through,
                through_hash=anchor["hash"],
                count=count,
                policy=retention,
            )
        ]
    )
    removed = store.purge_audit_through(through)
    signer = _signer(policy, store)
    import time

    seq, head = store.chain_head()
    store.add_checkpoint(signer.sign(seq, head, int(time.time() * 1000)))
    click.echo(f"removed {removed} records up to {through}; the chain now starts at {through + 1}")

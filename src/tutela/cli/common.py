"""What every ``tutela`` command shares: options, loading the policy and the store, failing."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, NoReturn

import click

from tutela.errors import TutelaError
from tutela.policy import Policy, load_policy

DEFAULT_DB = "sqlite:///tutela.db"


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(1)


def policy_of(config: str | None) -> Policy:
    try:
        return load_policy(config)
    except TutelaError as exc:
        fail(str(exc))


def open_store(policy: Policy, db: str | None) -> Any:
    from tutela.store.database import Store

    url = db or os.environ.get("TUTELA_DATABASE_URL") or policy.database_url or DEFAULT_DB
    try:
        store = Store(url)
        store.migrate()
    except TutelaError as exc:
        fail(str(exc))
    return store


def load(config: str | None, db: str | None) -> tuple[Policy, Any]:
    policy = policy_of(config)
    return policy, open_store(policy, db)


config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="TUTELA_CONFIG",
    help="Policy file (tutela.yaml). Default: built-in defaults.",
)
db_option = click.option(
    "--db",
    "db",
    default=None,
    help="Database URL (sqlite:///path or postgresql://...). Default: $TUTELA_DATABASE_URL, "
    "then the policy's database_url.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


def progress_bar(
    stack: contextlib.ExitStack, label: str, total: int | None, *, in_bytes: bool = False
) -> Any:
    """A rich progress bar on stderr when it is a terminal, else None. Returns a function
    taking how much more is done (bytes with ``in_bytes``, else items)."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    amount = (DownloadColumn(), TransferSpeedColumn()) if in_bytes else (MofNCompleteColumn(),)
    bar = stack.enter_context(
        Progress(
            TextColumn(label),
            BarColumn(),
            *amount,
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
    )
    task = bar.add_task(label, total=total)
    return lambda n: bar.advance(task, n)

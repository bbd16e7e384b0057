"""The database: connection, migrations and the repository of workspaces, keys and usage.

SQLite (WAL) by default, PostgreSQL by URL; the same code serves both. Every call here is
synchronous: the gateway calls it from worker threads, never on the event loop.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from tutela.audit.chain import chain_rows
from tutela.errors import StoreError
from tutela.store import schema

if TYPE_CHECKING:
    from tutela.audit.events import AuditEvent
    from tutela.audit.journal import Prerendered

MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def redact_url(url: str) -> str:
    """The URL with any password hidden, for logs and messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceRecord:
    id: str
    name: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRecord:
    id: str
    workspace_id: str
    workspace: str
    role: str
    name: str
    secret_sha256: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    replaced_by: str | None = None
    rotated_at: dt.datetime | None = None
    created_by: str = ""

    def active(self, now: dt.datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    def public(self) -> dict[str, Any]:
        """What may be shown to an operator: everything except the digest."""
        return {
            "id": self.id,
            "workspace": self.workspace,
            "role": self.role,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "replaced_by": self.replaced_by,
            "rotated_at": self.rotated_at.isoformat() if self.rotated_at else None,
            "created_by": self.created_by,
        }

    def state(self, now: dt.datetime) -> str:
        """``active``, ``rotating`` (replaced, still in its overlap), ``expired``, ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "rotating" if self.replaced_by else "active"


def _driver_value(value: Any, sqlite: bool) -> Any:
    """Timestamps as the schema stores them: UTC; naive text on SQLite, aware on PostgreSQL."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime; tutela stores only timezone-aware UTC times")
        value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value
    return value


def _is_timestamp(column_type: Any) -> bool:
    return isinstance(column_type, sa.DateTime) or isinstance(
        getattr(column_type, "impl", None), sa.DateTime
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """All reads and writes of tutela's state go through here."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.dialect = self.url.split(":", 1)[0].split("+", 1)[0]
        kwargs: dict[str, Any] = {"future": True}
        if self.dialect == "sqlite":
            path = sa.engine.make_url(self.url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 5}
        else:
            kwargs.update(pool_size=5, max_overflow=5, pool_pre_ping=True)
        try:
            self.engine: Engine = sa.create_engine(self.url, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot use database {redact_url(self.url)}: {exc}") from None
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise StoreError(f"cannot reach database {redact_url(self.url)}: {exc.orig}") from None

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    # -- workspaces ---------------------------------------------------------------------

    def create_workspace(self, name: str) -> WorkspaceRecord:
        record = WorkspaceRecord(id="ws_" + os.urandom(8).hex(), name=name, created_at=utcnow())
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    schema.workspaces.insert().values(
                        id=record.id, name=record.name, created_at=record.created_at
                    )
                )
        except IntegrityError:
            raise StoreError(f"workspace {name!r} already exists") from None
        return record

    def get_workspace(self, name: str) -> WorkspaceRecord | None:
        table = schema.workspaces
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(table).where(table.c.name == name)).first()
        return WorkspaceRecord(**row._mapping) if row else None

    def get_workspace_by_id(self, workspace_id: str) -> WorkspaceRecord | None:
        table = schema.workspaces
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(table).where(table.c.id == workspace_id)).first()
        return WorkspaceRecord(**row._mapping) if row else None

    def list_workspaces(self) -> list[WorkspaceRecord]:
        table = schema.workspaces
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(table).order_by(table.c.name)).all()
        return [WorkspaceRecord(**row._mapping) for row in rows]

    # -- api keys -----------------------------------------------------------------------

    def insert_key(
        self,
        *,
        key_id: str,
        workspace: WorkspaceRecord,
        role: str,
        name: str,
        secret_sha256: str,
        expires_at: dt.datetime | None,
        created_by: str = "",
        rotates: str | None = None,
        overlap_until: dt.datetime | None = None,
    ) -> KeyRecord:
        """Insert a key. With ``rotates``, in the same transaction the old key is marked
        replaced by this one and set to expire at ``overlap_until`` (or its own earlier
        expiry); a key already replaced or revoked cannot be rotated again."""
        now = utcnow()
        table = schema.api_keys
        with self.engine.begin() as connection:
            if rotates is not None:
                old = connection.execute(
                    sa.select(table.c.expires_at).where(
                        table.c.id == rotates,
                        table.c.workspace_id == workspace.id,
                        table.c.revoked_at.is_(None),
                        table.c.replaced_by.is_(None),
                    )
                ).first()
                if old is None:
                    raise StoreError(
                        f"key {rotates!r} cannot be rotated: no such active key in workspace "
                        f"{workspace.name!r}, or it was already rotated or revoked"
                    )
                until = overlap_until or now
                if old.expires_at is not None and old.expires_at < until:
                    until = old.expires_at
            connection.execute(
                table.insert().values(
                    id=key_id,
                    workspace_id=workspace.id,
                    role=role,
                    name=name,
                    secret_sha256=secret_sha256,
                    created_at=now,
                    expires_at=expires_at,
                    created_by=created_by,
                )
            )
            if rotates is not None:
                done = connection.execute(
                    table.update()
                    .where(table.c.id == rotates, table.c.replaced_by.is_(None))
                    .values(replaced_by=key_id, rotated_at=now, expires_at=until)
                )
                if done.rowcount != 1:  # a concurrent rotation won: roll back this one
                    raise StoreError(f"key {rotates!r} was rotated concurrently")
        return KeyRecord(
            id=key_id,
            workspace_id=workspace.id,
            workspace=workspace.name,
            role=role,
            name=name,
            secret_sha256=secret_sha256,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
            last_used_at=None,
            created_by=created_by,
        )

    def _key_query(self) -> sa.Select[Any]:
        keys, spaces = schema.api_keys, schema.workspaces
        return sa.select(keys, spaces.c.name.label("workspace")).join(
            spaces, spaces.c.id == keys.c.workspace_id
        )

    def find_key(self, key_id: str) -> KeyRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                self._key_query().where(schema.api_keys.c.id == key_id)
            ).first()
        return KeyRecord(**row._mapping) if row else None

    def list_keys(self, workspace: str | None = None) -> list[KeyRecord]:
        query = self._key_query().order_by(schema.api_keys.c.created_at)
        if workspace is not None:
            query = query.where(schema.workspaces.c.name == workspace)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [KeyRecord(**row._mapping) for row in rows]

    def revoke_key(self, key_id: str, workspace_id: str | None = None) -> KeyRecord | None:
        """Revoke a key; returns the updated record, or None when no such key exists (in
        ``workspace_id``, when given: a key of another workspace is never touched)."""
        table = schema.api_keys
        where = [table.c.id == key_id, table.c.revoked_at.is_(None)]
        if workspace_id is not None:
            where.append(table.c.workspace_id == workspace_id)
        with self.engine.begin() as connection:
            connection.execute(table.update().where(*where).values(revoked_at=utcnow()))
        record = self.find_key(key_id)
        if record is not None and workspace_id is not None and record.workspace_id != workspace_id:
            return None
        return record

    # -- batched writes from the gateway ------------------------------------------------

    def write_batch(
        self,
        usage: Sequence[dict[str, Any]],
        audit: Sequence[AuditEvent | Prerendered],
        touched: dict[str, dt.datetime],
        content: Sequence[dict[str, Any]] = (),
    ) -> int:
        """Write usage rows, audit events (chained), encrypted content rows and key
        last-use times in one transaction; returns the last event's sequence (0: none)."""
        connection = self.engine.raw_connection()
        try:
            return self._write(connection, usage, audit, touched, content)
        finally:
            connection.close()

    def appender(self) -> Appender:
        """A dedicated connection for the gateway's writer thread."""
        return Appender(self)

    def _write(
        self,
        connection: Any,
        usage: Sequence[dict[str, Any]],
        audit: Sequence[AuditEvent | Prerendered],
        touched: dict[str, dt.datetime],
        content: Sequence[dict[str, Any]],
    ) -> int:
        """The hot write path, on a DBAPI connection: SQLAlchemy's per-statement cost was
        ~850 of 925 µs per one-event batch (raw SQLite: 68 µs per transaction).

        The chain head row is locked first (an UPDATE takes SQLite's write lock and the
        row lock on PostgreSQL), so writers in other processes queue behind this
        transaction and the chain stays linear."""
        sqlite = self.dialect == "sqlite"
        mark = "?" if sqlite else "%s"
        cursor = connection.cursor()
        try:
            last = 0
            if audit:
                cursor.execute("UPDATE audit_chain_head SET seq = seq WHERE id = 1")
                cursor.execute("SELECT seq, hash FROM audit_chain_head WHERE id = 1")
                seq, prev = cursor.fetchone()
                rows = []
                rendered = [event.ocsf() for event in audit]
                for event, (number, prev_hash, data, digest) in zip(
                    audit, chain_rows(prev, int(seq), rendered), strict=True
                ):
                    row = event.row()
                    row.update(seq=number, prev_hash=prev_hash, hash=digest, data=data.decode())
                    rows.append(row)
                self._insert_rows(cursor, schema.audit_events, rows, sqlite)
                last = int(rows[-1]["seq"])
                cursor.execute(
                    f"UPDATE audit_chain_head SET seq = {mark}, hash = {mark} WHERE id = 1",  # noqa: S608
                    (last, rows[-1]["hash"]),
                )
            if usage:
                self._insert_rows(cursor, schema.usage_records, usage, sqlite)
            if content:
                self._insert_rows(cursor, schema.audit_content, content, sqlite)
            if touched:
                cursor.executemany(
                    f"UPDATE api_keys SET last_used_at = {mark} WHERE id = {mark}",  # noqa: S608
                    [(_driver_value(when, sqlite), key_id) for key_id, when in touched.items()],
                )
            connection.commit()
            return last
        except Exception:
            connection.rollback()
            raise
        finally:
            cursor.close()

    @staticmethod
    def _insert_rows(
        cursor: Any, table: sa.Table, rows: Sequence[dict[str, Any]], sqlite: bool
    ) -> None:
        """Rows must all have the same keys; column names are checked against the schema."""
        columns = list(rows[0])
        for name in columns:
            if name not in table.c:
                raise ValueError(f"{table.name} has no column {name!r}")
        mark = "?" if sqlite else "%s"
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - names from schema
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        # Only timestamp columns need converting: take them from the schema, once per batch.
        stamps = [i for i, name in enumerate(columns) if _is_timestamp(table.c[name].type)]
        values = []
        for row in rows:
            record = [row[name] for name in columns]
            for i in stamps:
                record[i] = _driver_value(record[i], sqlite)
            values.append(tuple(record))
        cursor.executemany(sql, values)

    def append_audit(self, events: Iterable[AuditEvent | Prerendered]) -> int:
        """Append events outside the gateway's writer (CLI, bootstrap)."""
        batch = list(events)
        return self.write_batch((), batch, {}) if batch else 0

    def existing_uids(self, uids: Sequence[str]) -> set[str]:
        table = schema.audit_events
        if not uids:
            return set()
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(table.c.uid).where(table.c.uid.in_(list(uids))))
            return {row[0] for row in rows}

    def backfill_usage(self, window: dt.timedelta = dt.timedelta(minutes=5)) -> int:
        """Rebuild usage rows that a crash kept from being written: for ``api.request``
        events since shortly before the newest usage row, insert any missing row."""
        table = schema.usage_records
        with self.engine.connect() as connection:
            newest = connection.execute(sa.select(sa.func.max(table.c.ts))).scalar_one()
        since = (newest - window) if newest is not None else None
        events = self.search_audit(event_type="api.request", since=since, limit=1_000_000)
        if not events:
            return 0
        with self.engine.connect() as connection:
            query = sa.select(table.c.request_id)
            if since is not None:
                query = query.where(table.c.ts >= since - window)
            present = {row[0] for row in connection.execute(query)}
        rows = []
        for row in events:
            event = row["event"]
            request_id = event["api"]["request"]["uid"]
            if request_id in present:
                continue
            usage = event["unmapped"]["tutela"].get("usage", {})
            principal = event["actor"]["user"]
            rows.append(
                {
                    "request_id": request_id,
                    "ts": row["ts"],
                    "workspace_id": row["workspace_id"],
                    "key_id": principal["uid"]
                    if principal.get("type_id") == 4 and principal["uid"] != "anonymous"
                    else None,
                    "endpoint": event["api"]["operation"],
                    "model": event.get("ai_model", {}).get("name", ""),
                    "status": int(event["api"]["response"]["code"]),
                    "outcome": row["outcome"],
                    "input_tokens": int(usage.get("input_tokens", 0)),
                    "output_tokens": int(usage.get("output_tokens", 0)),
                    "cache_creation_input_tokens": int(usage.get("cache_creation_input_tokens", 0)),
                    "cache_read_input_tokens": int(usage.get("cache_read_input_tokens", 0)),
                    "duration_ms": int(event.get("duration", 0)),
                }
            )
        if rows:
            self.write_batch(rows, (), {})
        return len(rows)

    def purge_audit_through(self, seq: int) -> int:
        """Delete audit records up to ``seq`` (a retention purge; the caller records it)."""
        table = schema.audit_events
        with self.engine.begin() as connection:
            result = connection.execute(table.delete().where(table.c.seq <= seq))
            return int(result.rowcount or 0)

    def legacy_max_seq(self) -> int:
        """The last record written before the chain existed (0: none)."""
        table = schema.audit_events
        query = sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0)).where(
            table.c.hash.is_(None)
        )
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def chain_head(self) -> tuple[int, str]:
        head = schema.audit_chain_head
        with self.engine.connect() as connection:
            seq, digest = connection.execute(
                sa.select(head.c.seq, head.c.hash).where(head.c.id == 1)
            ).one()
        return int(seq), str(digest)

    def audit_events(
        self, event_type: str | None = None, limit: int = 1000, workspace_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first, with the event parsed into ``event``."""
        return self.search_audit(event_type=event_type, limit=limit, workspace_id=workspace_id)

    def search_audit(
        self,
        *,
        event_type: str | None = None,
        workspace_id: str | None = None,
        actor: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        finding_class: str | None = None,
        request_id: str | None = None,
        after_seq: int | None = None,
        limit: int = 1000,
        oldest_first: bool = False,
    ) -> list[dict[str, Any]]:
        table = schema.audit_events
        query = sa.select(table)
        if event_type:
            if event_type.endswith(".*"):
                query = query.where(table.c.event_type.startswith(event_type[:-1]))
            else:
                query = query.where(table.c.event_type == event_type)
        if workspace_id:
            query = query.where(table.c.workspace_id == workspace_id)
        if actor:
            query = query.where(table.c.actor == actor)
        if since:
            query = query.where(table.c.ts >= since)
        if until:
            query = query.where(table.c.ts < until)
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        if finding_class:  # pre-filter in SQL, then check the parsed event exactly
            query = query.where(table.c.data.contains(f'"{finding_class}"', autoescape=True))
        if request_id:
            query = query.where(table.c.data.contains(f'"{request_id}"', autoescape=True))
        query = query.order_by(table.c.seq if oldest_first else table.c.seq.desc()).limit(limit)
        with self.engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(query)]
        for row in rows:
            row["event"] = orjson.loads(row["data"])
        if finding_class:
            rows = [r for r in rows if finding_class in _classes_of(r["event"])]
        return rows

    def audit_rows(
        self, from_seq: int = 0, to_seq: int | None = None, page: int = 5000
    ) -> Iterator[dict[str, Any]]:
        """Every stored record in sequence order, paged (for verification and export)."""
        table = schema.audit_events
        cursor = from_seq - 1
        while True:
            query = sa.select(table).where(table.c.seq > cursor).order_by(table.c.seq).limit(page)
            if to_seq is not None:
                query = query.where(table.c.seq <= to_seq)
            with self.engine.connect() as connection:
                rows = [dict(row._mapping) for row in connection.execute(query)]
            yield from rows
            if len(rows) < page:
                return
            cursor = int(rows[-1]["seq"])

    # -- encrypted content -----------------------------------------------------------------

    def content_keys(self, workspace_id: str) -> list[dict[str, Any]]:
        table = schema.content_keys
        query = sa.select(table).where(table.c.workspace_id == workspace_id)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def add_content_key(
        self, workspace_id: str, version: int, master_version: int, wrapped: str
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                schema.content_keys.insert().values(
                    workspace_id=workspace_id,
                    version=version,
                    master_version=master_version,
                    wrapped=wrapped,
                    created_at=utcnow(),
                )
            )

    def content(self, request_id: str) -> dict[str, Any] | None:
        table = schema.audit_content
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table).where(table.c.request_id == request_id)
            ).first()
        return dict(row._mapping) if row else None

    # -- checkpoints, exporter cursors, dead letters ------------------------------------

    def add_checkpoint(self, checkpoint: dict[str, Any]) -> int:
        table = schema.audit_checkpoints
        with self.engine.begin() as connection:
            result = connection.execute(table.insert().values(**checkpoint))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def checkpoints(self, after_id: int = 0) -> list[dict[str, Any]]:
        table = schema.audit_checkpoints
        query = sa.select(table).where(table.c.id > after_id).order_by(table.c.id)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def last_checkpoint(self) -> dict[str, Any] | None:
        table = schema.audit_checkpoints
        query = sa.select(table).order_by(table.c.id.desc()).limit(1)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return dict(row._mapping) if row else None

    def sink_cursor(self, sink: str) -> tuple[int, int]:
        """(last delivered event seq, last delivered checkpoint id) for a sink."""
        table = schema.audit_sink_cursors
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table.c.seq, table.c.checkpoint_id).where(table.c.sink == sink)
            ).first()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def set_sink_cursor(
        self,
        sink: str,
        seq: int,
        checkpoint_id: int,
        dead: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Advance a sink's cursor, recording refused events as dead letters atomically."""
        table = schema.audit_sink_cursors
        now = utcnow()
        with self.engine.begin() as connection:
            updated = connection.execute(
                table.update()
                .where(table.c.sink == sink)
                .values(seq=seq, checkpoint_id=checkpoint_id, updated_at=now)
            )
            if updated.rowcount == 0:
                connection.execute(
                    table.insert().values(
                        sink=sink, seq=seq, checkpoint_id=checkpoint_id, updated_at=now
                    )
                )
            if dead:
                connection.execute(
                    schema.audit_dead_letters.insert(),
                    [{**row, "sink": sink, "ts": now} for row in dead],
                )

    def dead_letters(self, sink: str | None = None) -> list[dict[str, Any]]:
        table = schema.audit_dead_letters
        query = sa.select(table).order_by(table.c.id)
        if sink:
            query = query.where(table.c.sink == sink)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def usage(self, request_id: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        table = schema.usage_records
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
        if request_id:
            query = query.where(table.c.request_id == request_id)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def usage_totals(
        self, *, workspace_id: str | None = None, key_id: str | None = None
    ) -> dict[str, int]:
        table = schema.usage_records
        query = sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(table.c.input_tokens), 0),
            sa.func.coalesce(sa.func.sum(table.c.output_tokens), 0),
        )
        if workspace_id:
            query = query.where(table.c.workspace_id == workspace_id)
        if key_id:
            query = query.where(table.c.key_id == key_id)
        with self.engine.connect() as connection:
            count, input_tokens, output_tokens = connection.execute(query).one()
        return {
            "requests": int(count),
            "input_tokens": int(input_tokens),
            "output_tokens": int(output_tokens),
        }


def _classes_of(event: dict[str, Any]) -> set[str]:
    """Finding classes an event mentions (guard verdicts, DLP, detection types)."""
    tutela = event.get("unmapped", {}).get("tutela", {})
    found: set[str] = set()
    for verdict in tutela.get("verdicts", ()):
        found.update(verdict.get("classes", ()))
    found.update((tutela.get("dlp") or {}).get("classes", {}))
    found.update(event.get("finding_info", {}).get("types", ()))
    return found


class Appender:
    """The writer thread's own database connection, reopened after a failure."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._connection: Any = None

    def write(
        self,
        usage: Sequence[dict[str, Any]],
        audit: Sequence[AuditEvent | Prerendered],
        touched: dict[str, dt.datetime],
        content: Sequence[dict[str, Any]] = (),
    ) -> int:
        if self._connection is None:
            self._connection = self.store.engine.raw_connection()
        try:
            return self.store._write(self._connection, usage, audit, touched, content)
        except Exception:
            self.close()  # a broken connection is not reused
            raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

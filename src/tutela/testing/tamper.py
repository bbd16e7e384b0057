"""Random single edits to a copy of a SQLite audit store, each with the finding that
``tutela audit verify`` must report: the tamper test's adversary.

Kinds: change a field (the event JSON or an indexed column), delete a record, swap two
records, truncate the tail, replace a checkpoint (re-signed with another key, or its
head altered under the same key id).
"""

from __future__ import annotations

import base64
import random
import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from tutela.audit.chain import Signer, canonical

KINDS = ("change_field", "delete_record", "swap_records", "truncate_tail", "replace_checkpoint")


@dataclass(frozen=True, slots=True)
class Edit:
    kind: str
    expect_kind: str
    seq: int | None
    checkpoint: int | None
    detail: str


def _mutate_leaf(value: Any, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice((-7, -1, 1, 3, 1000))
    if isinstance(value, float):
        return round(value + 0.125, 3)
    if isinstance(value, str):
        return value + "x" if value else "x"
    return "x"


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        out: list[tuple[Any, ...]] = []
        for key, value in node.items():
            out.extend(_leaves(value, (*path, key)))
        return out
    if isinstance(node, list):
        out = []
        for index, value in enumerate(node):
            out.extend(_leaves(value, (*path, index)))
        return out
    return [path] if node is not None else []


def _set(node: Any, path: tuple[Any, ...], rng: random.Random) -> str:
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = _mutate_leaf(node[path[-1]], rng)
    return ".".join(str(p) for p in path)


def apply_random_edit(connection: sqlite3.Connection, rng: random.Random) -> Edit:
    """Apply one random edit and say what verification must find."""
    seqs = [row[0] for row in connection.execute("SELECT seq FROM audit_events ORDER BY seq")]
    kind = rng.choice(KINDS)
    if kind == "change_field":
        seq = rng.choice(seqs)
        row = connection.execute(
            "SELECT data, ts, actor, outcome, event_type, workspace_id, prev_hash, hash "
            "FROM audit_events WHERE seq = ?",
            (seq,),
        ).fetchone()
        target = rng.choice(
            ("data", "data", "data", "ts", "actor", "outcome", "event_type", "prev_hash", "hash")
        )
        if target == "data":
            event = orjson.loads(row[0])
            leaves = [p for p in _leaves(event) if p[:2] != ("metadata", "sequence")]
            where = _set(event, rng.choice(leaves), rng)
            connection.execute(
                "UPDATE audit_events SET data = ? WHERE seq = ?", (canonical(event).decode(), seq)
            )
        elif target == "ts":
            connection.execute(
                "UPDATE audit_events SET ts = datetime(ts, '-1 hour') WHERE seq = ?", (seq,)
            )
            where = "ts"
        elif target in ("prev_hash", "hash"):
            index = 6 if target == "prev_hash" else 7
            flipped = ("1" if row[index][0] == "0" else "0") + row[index][1:]
            connection.execute(
                f"UPDATE audit_events SET {target} = ? WHERE seq = ?",  # noqa: S608
                (flipped, seq),
            )
            where = target
        else:
            connection.execute(
                f"UPDATE audit_events SET {target} = {target} || 'x' WHERE seq = ?",  # noqa: S608
                (seq,),
            )
            where = target
        return Edit(kind, "altered", seq, None, f"record {seq}: {where}")
    if kind == "delete_record":
        seq = rng.choice(seqs[:-1])  # deleting the last record is a tail truncation
        connection.execute("DELETE FROM audit_events WHERE seq = ?", (seq,))
        return Edit(kind, "missing", seq, None, f"deleted record {seq}")
    if kind == "swap_records":
        first, second = sorted(rng.sample(seqs, 2))
        connection.execute("UPDATE audit_events SET seq = -1 WHERE seq = ?", (first,))
        connection.execute("UPDATE audit_events SET seq = ? WHERE seq = ?", (first, second))
        connection.execute("UPDATE audit_events SET seq = ? WHERE seq = -1", (second,))
        return Edit(kind, "reordered", first, None, f"swapped records {first} and {second}")
    if kind == "truncate_tail":
        start = rng.choice(seqs[len(seqs) // 2 :])
        connection.execute("DELETE FROM audit_events WHERE seq >= ?", (start,))
        return Edit(kind, "truncated", start, None, f"cut records {start}..{seqs[-1]}")
    checkpoints = list(
        connection.execute("SELECT id, seq, head_hash, ts_ms, key_id FROM audit_checkpoints")
    )
    number, seq, head, ts_ms, _key_id = rng.choice(checkpoints)
    if rng.random() < 0.5:
        forged = Signer.generate().sign(seq, head, ts_ms)
        connection.execute(
            "UPDATE audit_checkpoints SET key_id = ?, signature = ? WHERE id = ?",
            (forged["key_id"], forged["signature"], number),
        )
        return Edit(kind, "checkpoint_untrusted_key", None, number, f"re-signed checkpoint {number}")
    other = base64.b64encode(bytes(64)).decode()
    if rng.random() < 0.5:
        connection.execute(
            "UPDATE audit_checkpoints SET signature = ? WHERE id = ?", (other, number)
        )
    else:
        connection.execute(
            "UPDATE audit_checkpoints SET head_hash = ? WHERE id = ?",
            (("f" if head[0] != "f" else "e") + head[1:], number),
        )
    return Edit(kind, "checkpoint_bad_signature", None, number, f"altered checkpoint {number}")

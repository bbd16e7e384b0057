"""The audit journal: durable on append, replayed once after a kill, deleted when
committed, one slot per process."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tutela.audit.events import ApiRequest
from tutela.audit.journal import Journal
from tutela.audit.writer import AuditWriter
from tutela.store.database import Store


def _store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'j.db'}")
    store.migrate()
    return store


async def test_a_clean_stop_commits_everything_and_leaves_no_journal(tmp_path: Path) -> None:
    store = _store(tmp_path)
    writer = AuditWriter(store, journal=Journal(tmp_path / "journal"))
    writer.start_replay()
    writer.start()
    for i in range(50):
        assert writer.submit(ApiRequest(request_id=f"r{i}", outcome="ok")) is None
    await writer.close()
    assert store.chain_head()[0] == 50
    assert list((tmp_path / "journal").glob("*.jsonl")) == []


def test_what_a_killed_process_journaled_is_replayed_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    journal = Journal(tmp_path / "journal")
    from tutela.audit.journal import encode

    events = [ApiRequest(request_id=f"k{i}", outcome="ok") for i in range(5)]
    for event in events:
        journal.append(encode(event.ocsf(), event.row(), None, None))
    store.append_audit(events[:2])  # the first two had been committed before the kill
    with (tmp_path / "journal" / f"slot-{journal.slot}.0.jsonl").open("ab") as handle:
        handle.write(b'{"e": {"torn')  # the kill interrupted a write
    journal.close(everything_committed=False)  # the process dies; its slot is free

    async def restart() -> None:
        writer = AuditWriter(store, journal=Journal(tmp_path / "journal"))
        writer.start_replay()
        writer.start()
        await writer.close()

    asyncio.run(restart())
    uids = [row["uid"] for row in store.audit_rows()]
    assert sorted(uids) == sorted(e.uid for e in events)  # each once: 2 + 3 replayed
    assert list((tmp_path / "journal").glob("*.jsonl")) == []


def test_two_processes_never_share_a_slot(tmp_path: Path) -> None:
    first, second = Journal(tmp_path / "journal"), Journal(tmp_path / "journal")
    assert first.slot != second.slot
    first.close(everything_committed=True)
    third = Journal(tmp_path / "journal")
    assert third.slot == first.slot
    second.close(everything_committed=True)
    third.close(everything_committed=True)

"""Batched random ids: unique, the right size, and never shared with a forked child."""

from __future__ import annotations

import os

from tutela.randomness import random_bytes, random_hex


def test_sizes_and_uniqueness() -> None:
    ids = [random_hex(12) for _ in range(20_000)]  # several refills of the 4 KiB block
    assert all(len(i) == 24 and int(i, 16) >= 0 for i in ids)
    assert len(set(ids)) == len(ids)
    assert len(random_bytes(5000)) == 5000  # larger than the block: straight from the kernel


def test_forked_child_does_not_repeat_the_parents_ids() -> None:
    random_hex(1)  # the parent now holds a partly used block
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report the next id and leave at once
        os.write(write, random_hex(16).encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child_id) == 32
    assert child_id != random_hex(16)

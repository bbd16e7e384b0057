"""Several gateway workers share one port; metrics cover all of them; SIGTERM stops all."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anthropic
import pytest

from tutela.testing.process import GatewayProcess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-workers")]

POLICY = "guards:\n  rate_limits:\n    per_key: {requests_per_minute: 100000}\n"


def metric(admin_url: str, line_prefix: str) -> float:
    with urllib.request.urlopen(admin_url + "/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(line_prefix):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_two_workers_serve_and_report_together(tmp_path: Path) -> None:
    gateway = GatewayProcess(tmp_path, config_text=POLICY, extra_args=["--workers", "2"])
    with gateway:
        assert gateway.process is not None
        assert len(children_of(gateway.process.pid)) == 2
        client = anthropic.Anthropic(
            base_url=gateway.base_url, api_key=gateway.admin_key, max_retries=0
        )

        def ask(i: int) -> str:
            message = client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=20,
                messages=[{"role": "user", "content": f"question {i}"}],
            )
            return message.content[0].text  # type: ignore[union-attr]

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, range(40)))
        assert all(a.startswith("Offline model reply to: question") for a in answers)
        ok = 'tutela_requests_total{endpoint="messages",outcome="ok",status="200"}'
        assert metric(gateway.admin_url, ok) == 40
    assert gateway.process is not None and gateway.process.returncode == 0

"""End-to-end fixtures: a real ``tutela serve`` process on the offline upstream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tutela.testing.process import GatewayProcess

E2E_POLICY = """
guards:
  rate_limits:
    per_key: {requests_per_minute: 100000}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    workdir: Path = tmp_path_factory.mktemp("gateway")
    with GatewayProcess(workdir, config_text=E2E_POLICY) as process:
        yield process

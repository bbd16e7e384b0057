"""Run a real ``tutela serve`` process for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

_READY = re.compile(r"tutela: gateway on http://([^:]+):(\d+)\s+admin on http://([^:]+):(\d+)")
_KEY = re.compile(r"(tutela_sk_[0-9a-f]{16}_[A-Za-z0-9_-]{43})")


class GatewayProcess:
    """``with GatewayProcess(tmp_path) as gw:`` starts tutela on ephemeral ports.

    ``gw.base_url`` is the gateway, ``gw.admin_url`` the admin API, ``gw.admin_key`` the
    first key printed on a fresh database, ``gw.db_url`` the database it uses, and
    ``gw.stderr_text()`` everything it logged (for checks that no secret is logged).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        config_text: str | None = None,
        db_url: str | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 30.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url or f"sqlite:///{self.workdir / 'tutela.db'}"
        self.config_path: Path | None = None
        if config_text is not None:
            self.config_path = self.workdir / "tutela.yaml"
            self.config_path.write_text(config_text, encoding="utf-8")
        self.env = env or {}
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[str] | None = None
        self.stdout_lines: list[str] = []
        self.stderr_path = self.workdir / "tutela.stderr.log"
        self.base_url = ""
        self.admin_url = ""
        self.admin_key = ""
        self._reader: threading.Thread | None = None

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "tutela.cli.main",
            "serve",
            "--db",
            self.db_url,
            "--port",
            "0",
            "--admin-port",
            "0",
        ]
        if self.config_path is not None:
            cmd += ["--config", str(self.config_path)]
        return cmd + self.extra_args

    def start(self) -> GatewayProcess:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        stderr = self.stderr_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            self.command(),
            cwd=self.workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        stderr.close()
        ready = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.stdout_lines.append(line)
                key = _KEY.search(line)
                if key and not self.admin_key:
                    self.admin_key = key.group(1)
                match = _READY.search(line)
                if match:
                    self.base_url = f"http://{match.group(1)}:{match.group(2)}"
                    self.admin_url = f"http://{match.group(3)}:{match.group(4)}"
                    ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.startup_timeout
        while not ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("tutela serve did not start:\n" + self.stderr_text()[-4000:])
        return self

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run another ``tutela`` command against the same database."""
        cmd: Sequence[str] = [sys.executable, "-m", "tutela.cli.main", *args, "--db", self.db_url]
        return subprocess.run(  # noqa: S603
            cmd,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=check,
            env={**os.environ, **self.env},
            timeout=60,
        )

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self.process.stdout is not None and not self._reader_alive():
            self.process.stdout.close()
        return self.process.returncode

    def _reader_alive(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(encoding="utf-8")
        except OSError:
            return ""

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

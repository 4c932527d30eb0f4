"""Lifecycle shared by the embedded services: one child process, one temp dir, guaranteed cleanup."""

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from abc import abstractmethod
from collections import deque
from pathlib import Path
from typing import ClassVar, Self

from riskengine_tools.local.errors import ServiceUnavailable
from riskengine_tools.local.lifecycle import Startable
from riskengine_tools.local.ports import LOOPBACK, free_port

_POLL_INTERVAL_S = 0.05
_LOG_TAIL_LINES = 30


class LocalService(Startable):
    """A loopback-only service run as a child process inside a private temp dir.

    Subclasses only say how to launch the binary and how to tell it is ready; this class
    owns the process so that every exit path (stop(), a failed start, the context manager,
    interpreter exit via atexit) terminates it and removes its files.
    """

    name: ClassVar[str]
    stop_timeout_s: ClassVar[float] = 5.0

    def __init__(self, port: int | None = None, start_timeout_s: float = 15.0) -> None:
        self._port = port if port is not None else free_port()
        self._start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    @abstractmethod
    def _command(self, workdir: Path) -> list[str]:
        """Return the argv that runs the service on ``self.port`` with its files in ``workdir``."""

    @abstractmethod
    def _is_ready(self) -> bool:
        """Return True once clients can use the service; called repeatedly during start()."""

    @property
    def port(self) -> int:
        """The loopback TCP port the service listens on."""
        return self._port

    @property
    def pid(self) -> int:
        """The child's process id, so callers and tests can check it is really gone after stop()."""
        if self._proc is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._proc.pid

    def start(self) -> Self:
        """Launch the service and block until it is ready; on any failure nothing is left behind."""
        if self._proc is not None:
            raise RuntimeError(f"{self.name} is already running (pid {self._proc.pid})")
        self._workdir = Path(tempfile.mkdtemp(prefix=f"riskengine-{self.name}-"))
        try:
            argv = self._command(self._workdir)
            with self._log_path.open("wb") as log:
                self._proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self._workdir,
                    env={**os.environ, "NO_COLOR": "1"},  # plain-text logs for the error tails
                )
            atexit.register(self.stop)
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate the process (kill it if it ignores SIGTERM), reap it and delete its temp dir.

        Idempotent, so the context manager, fixtures and the atexit fallback can all call it.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            atexit.unregister(self.stop)
            _terminate(proc, self.stop_timeout_s)
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Return the last lines the service wrote, for error messages that explain a failure."""
        if self._workdir is None or not self._log_path.exists():
            return "<no log>"
        with self._log_path.open(encoding="utf-8", errors="replace") as log:
            return "".join(deque(log, maxlen=lines)).rstrip() or "<empty log>"

    @property
    def _log_path(self) -> Path:
        assert self._workdir is not None
        return self._workdir / f"{self.name}.log"

    def _wait_until_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self._start_timeout_s
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise ServiceUnavailable(
                    f"{self.name} exited with code {code} during startup; log tail:\n{self.log_tail()}"
                )
            if self._is_ready():
                return
            time.sleep(_POLL_INTERVAL_S)
        raise ServiceUnavailable(
            f"{self.name} was not ready on {LOOPBACK}:{self.port} after {self._start_timeout_s:.0f}s;"
            f" log tail:\n{self.log_tail()}"
        )


def _terminate(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM, wait, then SIGKILL: a graceful stop that can never hang or leak the child."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

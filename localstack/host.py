"""LocalStack's free runtime as a plain process on 127.0.0.1, no Docker: its own venv, start, stop.

LocalStack 2026.3.0 (``localstack-core``, the last free release; its repository is archived) needs Python 3.13,
so it gets a venv of its own on a 3.13 interpreter, apart from the project's ``.venv``. Two of its requirements
must be held back for it to start (cbor2 6 lacks ``cbor2._decoder``, pyOpenSSL 26 lacks
``X509.add_extensions``); every other requirement is pinned by the release itself or resolved once.
See docs/localstack.md, "Without Docker".
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = [
    "DEFAULT_VENV",
    "REQUIREMENTS",
    "LocalStack",
    "LocalStackError",
    "find_python",
    "free_port",
    "install",
    "is_installed",
]

REPO = Path(__file__).resolve().parent.parent
DEFAULT_VENV = Path(os.environ.get("LOCALSTACK_VENV", REPO / ".venv-localstack"))
PYTHON_VERSION = (3, 13)
REQUIREMENTS = ("localstack-core[runtime]==2026.3.0", "cbor2==5.9.0", "pyopenssl==25.3.0")
STAMP = "riskengine-requirements.txt"  # in the venv: what was installed, so a change of pins reinstalls
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class LocalStackError(RuntimeError):
    """LocalStack could not be installed, started or used; the message says what to do."""


def find_python(explicit: str | None = None) -> Path:
    """A Python 3.13 interpreter: ``explicit`` (or ``$LOCALSTACK_PYTHON``), else pyenv's newest 3.13, else PATH."""
    candidates: list[Path] = []
    given = explicit or os.environ.get("LOCALSTACK_PYTHON")
    if given:
        candidates.append(Path(given))
    else:
        candidates.extend(_pyenv_pythons())
        on_path = shutil.which(f"python{PYTHON_VERSION[0]}.{PYTHON_VERSION[1]}")
        if on_path:
            candidates.append(Path(on_path))
    for candidate in candidates:
        if _version(candidate) == PYTHON_VERSION:
            return candidate
    wanted = ".".join(map(str, PYTHON_VERSION))
    tried = ", ".join(str(c) for c in candidates) or "none found"
    raise LocalStackError(
        f"LocalStack 2026.3.0 needs Python {wanted} (tried: {tried}). Install it with `pyenv install {wanted}` "
        f"or point LOCALSTACK_PYTHON (or --python) at a python{wanted} binary."
    )


def _pyenv_pythons() -> list[Path]:
    """pyenv's 3.13.x interpreters, newest first; none when pyenv is not installed."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False).stdout.strip()
    versions = Path(root or Path.home() / ".pyenv") / "versions"
    prefix = f"{PYTHON_VERSION[0]}.{PYTHON_VERSION[1]}."
    found = [v for v in versions.glob(f"{prefix}*") if re.fullmatch(r"\d+", v.name.removeprefix(prefix))]
    found.sort(key=lambda v: int(v.name.removeprefix(prefix)), reverse=True)
    return [v / "bin" / f"python{PYTHON_VERSION[0]}.{PYTHON_VERSION[1]}" for v in found]


def _version(python: Path) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return int(out[0]), int(out[1])


def is_installed(venv: Path = DEFAULT_VENV) -> bool:
    """The venv holds exactly the pinned requirements (its stamp says so) and its interpreter still runs."""
    stamp = venv / STAMP
    return stamp.is_file() and stamp.read_text() == _stamp() and _version(venv / "bin" / "python") == PYTHON_VERSION


def install(venv: Path = DEFAULT_VENV, python: str | None = None) -> bool:
    """Create ``venv`` with the pinned requirements unless it already has them; True when it installed."""
    if is_installed(venv):
        return False
    interpreter = find_python(python)
    shutil.rmtree(venv, ignore_errors=True)
    _run([str(interpreter), "-m", "venv", str(venv)], "creating the LocalStack venv")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, *REQUIREMENTS], "installing LocalStack (needs PyPI)")
    (venv / STAMP).write_text(_stamp())
    return True


def _stamp() -> str:
    return "\n".join(REQUIREMENTS) + "\n"


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LocalStackError(f"{what} failed ({' '.join(command)}):\n{_tail(done.stdout + done.stderr)}")


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick), for a LocalStack that must not collide with another."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalStack:
    """One LocalStack process on 127.0.0.1:``port`` with its files under ``workdir``; stopped on exit, always.

    ``OVERRIDE_IN_DOCKER=0``: these machines look like containers to LocalStack, which would then write to
    /var/lib/localstack and listen on 0.0.0.0; as a host process it keeps to ``FILESYSTEM_ROOT`` and 127.0.0.1.
    ``GATEWAY_SERVER=hypercorn``: the default server (twisted) listens on every interface whatever it is told.
    """

    def __init__(self, workdir: Path, port: int, venv: Path = DEFAULT_VENV) -> None:
        self.workdir, self.port, self.venv = workdir, port, venv
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / "localstack.log"
        self._process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        private = {name: self.workdir / name for name in ("home", "tmp", "filesystem")}
        for folder in private.values():
            folder.mkdir(parents=True, exist_ok=True)
        # Only what LocalStack needs from ours: no AWS settings or credentials of the user reach it.
        inherited = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL") if name in os.environ}
        return inherited | {
            "HOME": str(private["home"]),
            "TMPDIR": str(private["tmp"]),
            "FILESYSTEM_ROOT": str(private["filesystem"]),
            "OVERRIDE_IN_DOCKER": "0",
            "GATEWAY_LISTEN": f"127.0.0.1:{self.port}",
            "GATEWAY_SERVER": "hypercorn",
            "LOCALSTACK_HOST": f"127.0.0.1:{self.port}",
            "SQS_ENDPOINT_STRATEGY": "path",  # queue URLs on 127.0.0.1, not a DNS name that does not resolve here
            "DNS_ADDRESS": "0",  # no DNS server of its own
            "DISABLE_EVENTS": "1",  # no analytics calls home
            # Its SQS metrics reporter otherwise holds up the shutdown after a ReceiveMessage until SIGKILL.
            "SQS_DISABLE_CLOUDWATCH_METRICS": "1",
        }

    def start(self) -> None:
        if not is_installed(self.venv):
            raise LocalStackError(f"LocalStack is not installed in {self.venv}: run `make localstack-install`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [str(self.venv / "bin" / "python"), "-m", "localstack.runtime.main"],
                env=self.environment(),
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() ends whatever it started
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise LocalStackError(f"LocalStack exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/_localstack/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise LocalStackError(f"LocalStack did not answer within {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL if it has not ended within STOP_TIMEOUT_S."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return _tail(self.log_path.read_text(errors="replace") if self.log_path.exists() else "", lines)

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


if __name__ == "__main__":  # `python localstack/host.py` installs (make localstack-install)
    import argparse

    parser = argparse.ArgumentParser(description="Install LocalStack's free runtime in its own Python 3.13 venv.")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="Where (default: %(default)s).")
    parser.add_argument("--python", help="A python3.13 binary (default: $LOCALSTACK_PYTHON, pyenv's, PATH's).")
    arguments = parser.parse_args()
    try:
        started = time.monotonic()
        action = "installed" if install(arguments.venv, arguments.python) else "already installed"
        print(f"LocalStack {action} in {arguments.venv} ({time.monotonic() - started:.0f} s)")
    except LocalStackError as exc:
        sys.exit(f"error: {exc}")

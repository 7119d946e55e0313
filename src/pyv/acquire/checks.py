"""Checks run on a freshly installed interpreter: the smoke test and bytecode compilation.

Both start the new interpreter in its own session and, on a timeout, kill the
whole process group: a grandchild that inherited the output pipe would
otherwise keep the wait going long after the child itself was killed.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from pathlib import Path

from pyv.core.errors import ExitCode, PyvError, from_os_error

__all__ = ["SMOKE_IMPORTS", "SmokeTest", "compile_bytecode"]

SMOKE_IMPORTS = "import sys, ssl, sqlite3, zlib"


def _first_line(*texts: str) -> str:
    for text in texts:
        for line in text.splitlines():
            if line.strip():
                return line.strip()
    return "no output"


def _start(argv: list[str], *, umask: int = -1,
           env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``argv`` as the leader of a new process group, output captured."""
    return subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
        umask=umask,
    )


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill ``process`` and everything it started, then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()


def _wait(process: subprocess.Popen[str], deadline: float) -> tuple[str, str]:
    """Output of ``process`` by ``deadline`` (monotonic); the group is killed past it."""
    try:
        return process.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise


class SmokeTest:
    """The new interpreter importing the modules most often broken by a bad build, and
    ``bin/pip3 --version`` where the installation has one (proving its launcher runs the
    installation's own interpreter), started in the background so the installer can
    prepare the shims meanwhile."""

    _HINT = "the build may not suit this system; try another version or report it"

    def __init__(self, python: Path, *, timeout: float = 60.0) -> None:
        self.python = python
        self.timeout = timeout
        self._deadline = time.monotonic() + timeout
        self._processes: list[tuple[str, subprocess.Popen[str]]] = []
        pip = python.parent / "pip3"
        # A launcher cannot pass -E -s on: the user's PYTHON*/PIP_* settings are left out,
        # and pip leaves no bytecode behind (compiling is --compile-bytecode's choice).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
        imports = [os.fspath(python), "-E", "-s", "-c", SMOKE_IMPORTS]
        commands: list[tuple[str, list[str], dict[str, str] | None]] = [
            (f"the smoke test of {python}", imports, None)
        ]
        if pip.is_file():
            commands.append((f"the smoke test's {pip} --version", [os.fspath(pip), "--version"],
                             env | {"PYTHONDONTWRITEBYTECODE": "1"}))
        # The bytecode they leave in the tree must not be writable by others, whatever the
        # umask; a tree opened to a group store's group (setgid) keeps group write.
        umask = 0o002 if _setgid(python.parent.parent) else 0o022
        for what, argv, run_env in commands:
            try:
                self._processes.append((what, _start(argv, umask=umask, env=run_env)))
            except OSError as exc:
                self.cancel()
                raise PyvError(
                    f"{what} could not start it: {exc.strerror or exc}",
                    self._HINT,
                    exit_code=ExitCode.FAILURE,
                ) from None

    def result(self) -> None:
        """Wait for the test; :class:`PyvError` if it failed or did not finish in time."""
        try:
            while self._processes:
                what, process = self._processes[0]
                try:
                    out, err = _wait(process, self._deadline)
                except subprocess.TimeoutExpired:
                    raise PyvError(
                        f"{what} did not finish within {self.timeout:g} s",
                        self._HINT,
                        exit_code=ExitCode.FAILURE,
                    ) from None
                finally:
                    self._processes.pop(0)
                if process.returncode != 0:
                    raise PyvError(
                        f"{what} failed (exit {process.returncode}): {_first_line(err, out)}",
                        self._HINT,
                        exit_code=ExitCode.FAILURE,
                    )
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop a test whose answer is no longer wanted (the install is failing anyway)."""
        processes, self._processes = self._processes, []
        for _, process in processes:
            _kill_group(process)


def _setgid(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_ISGID)
    except OSError:
        return False


#: Paths compileall skips: site-packages (pip compiles what it installs) and the
#: deliberately broken test inputs, as CPython's own ``make install`` does.
_COMPILE_EXCLUDE = r"[/\\](site-packages|bad_coding|badsyntax|lib2to3[/\\]tests[/\\]data)"


def compile_bytecode(
    install_dir: Path, python: Path, *, timeout: float = 900.0, group: bool = False
) -> None:
    """Precompile the standard library of ``install_dir`` with its own interpreter.

    The ``__pycache__`` directories and files get explicit modes whatever the
    umask: 0755/0644, or the group store's (``group``).
    """
    from pyv.acquire.fixups import stdlib_dir

    stdlib = stdlib_dir(install_dir, "cpython")  # lib/python3.X, else lib/pypy3.X
    if stdlib is None:
        raise PyvError(
            f"cannot compile bytecode: {install_dir} has no lib/python3.X directory",
            "reinstall this version",
        )
    argv = [
        os.fspath(python),
        "-E",
        "-s",
        "-m",
        "compileall",
        "-q",
        "-j0",
        "-x",
        _COMPILE_EXCLUDE,
        os.fspath(stdlib),
    ]
    hint = "the installation still works, only slower to start; reinstall to retry"
    try:
        # The umask keeps the new files from being writable by others even before the
        # explicit modes below are set.
        process = _start(argv, umask=0o002 if group else 0o022)
        out, err = _wait(process, time.monotonic() + timeout)
    except subprocess.TimeoutExpired:
        raise PyvError(
            f"compiling the standard library of {install_dir.name} timed out", hint
        ) from None
    except OSError as exc:
        raise PyvError(
            f"compiling the standard library of {install_dir.name} could not start "
            f"{python}: {exc.strerror or exc}",
            hint,
        ) from None
    if process.returncode != 0:
        raise PyvError(
            f"compiling the standard library of {install_dir.name} failed "
            f"(exit {process.returncode}): {_first_line(out, err)}",
            hint,
        )
    try:
        _set_cache_modes(stdlib, group)
    except OSError as exc:
        raise from_os_error(exc, f"setting the modes of {install_dir.name}'s bytecode") from None


def _set_cache_modes(stdlib: Path, group: bool) -> None:
    """Give every ``__pycache__`` below ``stdlib`` (and its files) explicit modes."""
    from pyv.core.fsutil import share_tree

    for root, dirs, _ in os.walk(stdlib):
        if "__pycache__" not in dirs:
            continue
        cache = Path(root, "__pycache__")
        if cache.is_symlink():
            continue
        if group:
            share_tree(cache)  # the group store's modes, defined in fsutil
            continue
        os.chmod(cache, 0o755)
        with os.scandir(cache) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    os.chmod(entry.path, 0o644)

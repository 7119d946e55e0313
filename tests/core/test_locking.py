"""Locks: fcntl and lockfile modes, contention between processes, stale-lock breaking."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from archives import build_synthetic_archive
from pyv.core import locking
from pyv.core.errors import LockTimeout
from pyv.core.locking import LockOwner, acquire, owner_file

HOLDER = """
import sys
from pathlib import Path
from pyv.core.locking import acquire
with acquire(Path(sys.argv[1]), timeout=10, mode=sys.argv[2], what="the test lock"):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def start(path: Path, mode: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path), mode],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("mode", ["fcntl", "lockfile"])
def test_two_processes_contend_and_the_message_names_the_holder(
    tmp_path: Path, holder: object, mode: str
) -> None:
    lock = tmp_path / "store" / ".lock"
    proc = holder(lock, mode)  # type: ignore[operator]
    with pytest.raises(LockTimeout) as info:
        with acquire(lock, timeout=0.3, mode=mode, what="the test lock"):
            pass
    message = info.value.render()
    assert f"pid {proc.pid} on {socket.gethostname()}" in message
    assert "the test lock" in message and "PYV_LOCK_TIMEOUT" in message
    _release(proc)
    with acquire(lock, timeout=2, mode=mode, what="the test lock"):
        pass


def test_waiter_gets_the_lock_once_the_holder_releases(tmp_path: Path, holder: object) -> None:
    lock = tmp_path / ".lock"
    proc = holder(lock, "lockfile")  # type: ignore[operator]
    start = time.monotonic()
    import threading

    threading.Timer(0.3, _release, args=(proc,)).start()
    with acquire(lock, timeout=10, mode="lockfile", what="x"):
        waited = time.monotonic() - start
    assert 0.2 < waited < 5
    assert not owner_file(lock).exists()


def _write_owner(lock: Path, owner: LockOwner, age: float = 0.0) -> Path:
    target = owner_file(lock)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(owner.to_json())
    if age:
        when = time.time() - age
        os.utime(target, (when, when))
    return target


def test_stale_lock_of_a_dead_process_on_this_host_is_broken(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    _write_owner(lock, LockOwner(host=socket.gethostname(), pid=_dead_pid(), token="old"))
    with acquire(lock, timeout=0.2, mode="lockfile", what="x"):
        current = json.loads(owner_file(lock).read_text())
        assert current["pid"] == os.getpid() and current["token"] != "old"
    assert not owner_file(lock).exists()


def test_lock_of_a_live_process_with_a_reused_pid_is_stale(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    # Our own pid, but recorded with another start time: the pid was reused.
    _write_owner(lock, LockOwner(host=socket.gethostname(), pid=os.getpid(), start="1", token="t"))
    if not locking._start_time(os.getpid()):
        pytest.skip("no /proc start times here")
    with acquire(lock, timeout=0.2, mode="lockfile", what="x"):
        pass


def test_lock_from_another_host_is_respected_until_stale(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    target = _write_owner(lock, LockOwner(host="node17.cluster", pid=4242, time="T", token="n17"))
    with pytest.raises(LockTimeout, match=r"pid 4242 on node17\.cluster since T"):
        with acquire(lock, timeout=0.2, mode="lockfile", what="x", stale_after=60):
            pass
    assert target.exists()
    # Untouched for longer than stale_after: the holder died without cleaning up.
    old = time.time() - 120
    os.utime(target, (old, old))
    with acquire(lock, timeout=0.2, mode="lockfile", what="x", stale_after=60):
        assert json.loads(target.read_text())["pid"] == os.getpid()


def test_an_empty_lockfile_is_held_briefly_then_stale(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    target = owner_file(lock)
    target.write_text("")
    with pytest.raises(LockTimeout):
        with acquire(lock, timeout=0.1, mode="lockfile", what="x"):
            pass
    old = time.time() - 3600
    os.utime(target, (old, old))
    with acquire(lock, timeout=0.1, mode="lockfile", what="x"):
        pass


def test_release_leaves_a_lockfile_that_is_no_longer_ours(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    with acquire(lock, timeout=1, mode="lockfile", what="x"):
        # Someone judged us stale and took over.
        _write_owner(lock, LockOwner(host="other", pid=1, token="theirs"))
    assert json.loads(owner_file(lock).read_text())["token"] == "theirs"


def test_heartbeat_refreshes_the_lockfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "HEARTBEAT", 0.05)
    lock = tmp_path / ".lock"
    with acquire(lock, timeout=1, mode="lockfile", what="x"):
        target = owner_file(lock)
        old = time.time() - 1000
        os.utime(target, (old, old))
        deadline = time.monotonic() + 5
        while target.stat().st_mtime < old + 500 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.stat().st_mtime > old + 500


def test_reentrant_in_one_thread(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    for mode in ("fcntl", "lockfile"):
        with acquire(lock, timeout=0.2, mode=mode, what="x"):
            with acquire(lock, timeout=0.2, mode=mode, what="x"):
                pass
            # Still held by us after the inner block.
            assert mode == "fcntl" or owner_file(lock).exists()


def test_auto_falls_back_to_lockfile_when_the_probe_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locking, "_mode_cache", {})
    monkeypatch.setattr(locking, "probe_flock", lambda directory: False)
    lock = tmp_path / ".lock"
    with acquire(lock, timeout=1, mode="auto", what="x"):
        assert owner_file(lock).exists()


def test_auto_uses_fcntl_on_a_local_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locking, "_mode_cache", {})
    monkeypatch.setattr(locking, "filesystem_type", lambda path, mountinfo=None: "ext4")
    assert locking.probe_flock(tmp_path)
    assert locking.resolve_mode("auto", tmp_path) == "fcntl"
    with acquire(tmp_path / ".lock", timeout=1, mode="auto", what="x"):
        assert not owner_file(tmp_path / ".lock").exists()


def test_detect_lock_mode_on_a_network_filesystem(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"40 1 0:50 / {tmp_path} rw - nfs server:/x rw\n")
    assert locking.detect_lock_mode(tmp_path / "d", mountinfo) == "lockfile"
    mountinfo.write_text(f"40 1 0:50 / {tmp_path} rw - ext4 /dev/sda rw\n")
    assert locking.detect_lock_mode(tmp_path, mountinfo) == "fcntl"


@pytest.mark.parametrize("mode", ["fcntl", "lockfile"])
def test_lock_file_is_group_writable_in_a_setgid_directory(tmp_path: Path, mode: str) -> None:
    shared = tmp_path / "group-store"
    shared.mkdir()
    os.chmod(shared, 0o2775)
    private = tmp_path / "own-store"
    private.mkdir(mode=0o755)
    old_umask = os.umask(0o022)
    try:
        for directory, expected in ((shared, 0o664), (private, 0o644)):
            lock = directory / ".lock"
            with acquire(lock, timeout=1, mode=mode, what="x"):
                made = lock if mode == "fcntl" else owner_file(lock)
                assert stat.S_IMODE(made.stat().st_mode) == expected
    finally:
        os.umask(old_umask)


def test_bad_mode_is_a_config_error(tmp_path: Path) -> None:
    from pyv.core.errors import ConfigError

    with pytest.raises(ConfigError):
        with acquire(tmp_path / ".lock", timeout=1, mode="bogus", what="x"):
            pass


def test_read_owner_reports_the_fcntl_holder(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    with acquire(lock, timeout=1, mode="fcntl", what="x"):
        owner = locking.read_owner(lock)
        assert owner is not None and owner.pid == os.getpid()
    assert locking.read_owner(lock) is None


# ----- waiting: say who holds the lock, once, then proceed ----------------------------------
AS_PYV = """
import sys
from pathlib import Path
from pyv.core.locking import acquire
path, mode = Path(sys.argv[1]), sys.argv[2]
sys.argv = ["/usr/local/bin/pyv", "install", "3.13"]  # what the holder is doing
with acquire(path, timeout=10, mode=mode, what="the test lock"):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def pyv_holder() -> Iterator[object]:
    """Start a process that holds a lock while looking like `pyv install 3.13`."""
    procs: list[subprocess.Popen[str]] = []

    def start(path: Path, mode: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-c", AS_PYV, str(path), mode],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in procs:
        assert proc.stdin is not None
        if proc.stdin.closed:  # released: it may still be exiting
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.parametrize("mode", ["fcntl", "lockfile"])
def test_a_waiter_says_once_who_holds_the_lock_then_gets_it(
    tmp_path: Path, pyv_holder: object, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    lock = tmp_path / ".lock"
    proc = pyv_holder(lock, mode)  # type: ignore[operator]
    threading.Timer(locking.NOTICE_AFTER + 0.8, _release, args=(proc,)).start()
    with acquire(lock, timeout=10, mode=mode, what="cpython-3.13.0 in the store"):
        pass
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"waiting for pid {proc.pid} (pyv install 3.13), ")
    assert "cpython-3.13.0 in the store" in lines[0]
    assert re.search(r"since \d\d:\d\d$", lines[0]), lines[0]


def test_a_short_wait_says_nothing(
    tmp_path: Path, pyv_holder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / ".lock"
    proc = pyv_holder(lock, "fcntl")  # type: ignore[operator]
    threading.Timer(0.2, _release, args=(proc,)).start()
    with acquire(lock, timeout=10, mode="fcntl", what="x"):
        pass
    assert capsys.readouterr().err == ""


def test_install_waiting_on_a_lock_says_so_unless_quiet(
    pbs_mirror: object, pyv_home: Path, tmp_path: Path, pyv_holder: object
) -> None:
    archives = [build_synthetic_archive(tmp_path / "a", (3, minor, 4), build="20240713")
                for minor in (11, 12)]
    # A short timeout: a pyv that never says it waits fails the readline below soon.
    env = {**os.environ, **pbs_mirror(archives), "PYV_LOCK_TIMEOUT": "30"}  # type: ignore[operator]
    exe = str(Path(sys.executable).parent / "pyv")
    for archive, quiet in zip(archives, (False, True)):
        lock = pyv_home / "pythons" / ".locks" / f"{archive.key}.lock"
        holder = pyv_holder(lock, "fcntl")  # type: ignore[operator]
        minor = ".".join(map(str, archive.version[:2]))
        proc = subprocess.Popen([exe, *(["-q"] if quiet else []), "install", minor], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        if quiet:
            time.sleep(locking.NOTICE_AFTER + 3)  # well past the notice: it must stay silent
            assert proc.poll() is None  # still waiting for the lock
        else:
            first = proc.stderr.readline()  # the notice comes while the holder still holds
            assert first.startswith(f"waiting for pid {holder.pid} (pyv install 3.13), ")
            assert archive.key in first and first.count("\n") == 1
        _release(holder)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "waiting" not in err  # said once, or (quiet) never
        if quiet:
            assert err == ""


def test_verbose_install_says_how_long_it_waited_for_the_lock(
    pbs_mirror: object, pyv_home: Path, tmp_path: Path, pyv_holder: object
) -> None:
    archive = build_synthetic_archive(tmp_path / "a", (3, 12, 4), build="20240713")
    env = {**os.environ, **pbs_mirror([archive]), "PYV_LOCK_TIMEOUT": "30"}  # type: ignore[operator]
    lock = pyv_home / "pythons" / ".locks" / f"{archive.key}.lock"
    holder = pyv_holder(lock, "fcntl")  # type: ignore[operator]
    exe = str(Path(sys.executable).parent / "pyv")
    proc = subprocess.Popen([exe, "-v", "install", "3.12"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    before = []
    while not (line := proc.stderr.readline()).startswith("waiting for pid"):
        assert line, before  # the notice comes while the holder still holds the lock
        before.append(line)
    _release(holder)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert not any(line.startswith("verbose: waited") for line in before)
    waited = [line for line in err.splitlines() if line.startswith("verbose: waited")]
    assert len(waited) == 1, err
    assert re.fullmatch(rf"verbose: waited \d+\.\ds for the lock on {re.escape(archive.key)} "
                        rf"in {re.escape(str(pyv_home / 'pythons'))}", waited[0]), waited


def test_a_second_install_of_one_version_says_whom_it_waits_for(
    pbs_mirror: object, http_server: object, pyv_home: Path, tmp_path: Path
) -> None:
    archive = build_synthetic_archive(tmp_path / "a", (3, 12, 4), build="20240713")
    env = {**os.environ, **pbs_mirror([archive])}  # type: ignore[operator]
    # The first install downloads slowly (about 4 s) while holding the key's lock.
    size = archive.path.stat().st_size
    http_server.add_fault(f"/{archive.build}/{archive.path.name}", "slow",  # type: ignore[attr-defined]
                          chunk=max(1, size // 40), delay=0.1)
    exe = str(Path(sys.executable).parent / "pyv")
    first = subprocess.Popen([exe, "install", "3.12"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    record = locking.holder_file(pyv_home / "pythons" / ".locks" / f"{archive.key}.lock")
    deadline = time.monotonic() + 60
    while not record.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    second = subprocess.run([exe, "install", "3.12"], env=env, capture_output=True, text=True,
                            timeout=120)
    _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second.stderr
    waiting = [line for line in second.stderr.splitlines() if line.startswith("waiting")]
    expected = (rf"waiting for pid {first.pid} \(pyv install 3\.12\), which holds "
                rf"{re.escape(archive.key)} in {re.escape(str(pyv_home / 'pythons'))} "
                r"since \d\d:\d\d")
    assert len(waiting) == 1 and re.fullmatch(expected, waiting[0]), second.stderr


# ----- timeouts a caller might still pass -------------------------------------------------
WAITER = """
import sys
from pathlib import Path
from pyv.core.errors import PyvError
from pyv.core.locking import acquire
try:
    with acquire(Path(sys.argv[1]), timeout=float(sys.argv[2]), mode=sys.argv[3], what="x"):
        print("acquired")
except PyvError as exc:
    print(type(exc).__name__, exc.render())
"""


@pytest.mark.parametrize(("mode", "value", "expected"), [
    ("fcntl", "inf", "ConfigError"), ("fcntl", "nan", "ConfigError"),
    ("lockfile", "inf", "ConfigError"), ("lockfile", "nan", "ConfigError"),
    # Negative means "try once": filelock would read it as "wait forever".
    ("fcntl", "-1", "LockTimeout"), ("lockfile", "-1", "LockTimeout"),
])
def test_a_held_lock_never_makes_a_waiter_wait_forever(
    tmp_path: Path, holder: object, mode: str, value: str, expected: str
) -> None:
    lock = tmp_path / ".lock"
    holder(lock, mode)  # type: ignore[operator]
    waiter = subprocess.run([sys.executable, "-c", WAITER, str(lock), value, mode],
                            capture_output=True, text=True, timeout=15)
    assert waiter.stdout.startswith(expected), waiter.stdout + waiter.stderr
    if expected == "ConfigError":
        assert "lock_timeout" in waiter.stdout


# ----- fcntl mode details -------------------------------------------------------------------
def test_a_filesystem_refusing_flock_says_to_use_lock_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import fcntl

    def refuse(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", refuse)
    start = time.monotonic()
    with pytest.raises(LockTimeout) as info:
        with acquire(tmp_path / ".lock", timeout=30, mode="fcntl", what="the test lock"):
            pass
    assert "refuses file locks" in info.value.render()
    assert "PYV_LOCK_MODE=lockfile" in info.value.render()
    assert time.monotonic() - start < 10  # not after the whole timeout


def test_the_fcntl_holder_record_is_group_writable_and_gone_after_release(tmp_path: Path) -> None:
    shared = tmp_path / "group-store"
    shared.mkdir()
    os.chmod(shared, 0o2775)
    old_umask = os.umask(0o077)
    try:
        with acquire(shared / ".lock", timeout=1, mode="fcntl", what="x"):
            record = locking.holder_file(shared / ".lock")
            assert stat.S_IMODE(record.stat().st_mode) == 0o664
            owner = locking.read_owner(shared / ".lock")
            assert owner is not None and owner.pid == os.getpid() and owner.cmd
    finally:
        os.umask(old_umask)
    assert not record.exists()


def test_a_timeout_names_the_holders_command(tmp_path: Path, pyv_holder: object) -> None:
    lock = tmp_path / ".lock"
    proc = pyv_holder(lock, "fcntl")  # type: ignore[operator]
    with pytest.raises(LockTimeout) as info:
        with acquire(lock, timeout=0.2, mode="fcntl", what="x"):
            pass
    assert f"pid {proc.pid} on " in info.value.render()
    assert ", running pyv install 3.13)" in info.value.render()


def test_a_record_left_by_a_dead_holder_is_not_named(tmp_path: Path, holder: object) -> None:
    lock = tmp_path / ".lock"
    proc = holder(lock, "fcntl")  # type: ignore[operator]
    # The live holder's record is lost; a killed process left its own behind.
    dead = LockOwner(host=socket.gethostname(), pid=_dead_pid(), time="T", token="gone")
    locking.holder_file(lock).write_text(dead.to_json())
    with pytest.raises(LockTimeout) as info:
        with acquire(lock, timeout=0.2, mode="fcntl", what="x"):
            pass
    assert f"pid {dead.pid}" not in info.value.render()
    assert "another pyv process has held the lock on x" in info.value.render()
    _release(proc)

"""Locks: fcntl and lockfile modes, contention between processes, stale-lock breaking."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyv import locking
from pyv.errors import LockTimeout
from pyv.locking import LockOwner, acquire, owner_file

HOLDER = """
import sys
from pathlib import Path
from pyv.locking import acquire
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


def test_filesystem_type_from_mountinfo(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "40 22 0:50 / /shared rw,relatime - nfs4 server:/export rw,vers=4.2\n"
        "41 22 0:51 / /scratch rw - lustre 10.0.0.1@tcp:/scratch rw\n"
        "42 22 0:52 / /home/me/remote rw - fuse.sshfs me@host: rw\n"
        "43 22 0:53 / /my\\040disk rw - xfs /dev/sdb1 rw\n"
    )
    assert locking.filesystem_type(Path("/shared/apps/pyv"), mountinfo) == "nfs4"
    assert locking.filesystem_type(Path("/sharedx"), mountinfo) == "ext4"
    assert locking.filesystem_type(Path("/scratch"), mountinfo) == "lustre"
    assert locking.filesystem_type(Path("/my disk/x"), mountinfo) == "xfs"
    remote = locking.filesystem_type(Path("/home/me/remote/a"), mountinfo)
    assert remote == "fuse.sshfs" and locking.is_network_filesystem(remote)
    for fstype, network in (("nfs", True), ("gpfs", True), ("beegfs", True), ("cifs", True),
                            ("ext4", False), ("tmpfs", False), (None, False)):
        assert locking.is_network_filesystem(fstype) is network
    assert locking.filesystem_type(Path("/x"), tmp_path / "missing") is None


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
    from pyv.errors import ConfigError

    with pytest.raises(ConfigError):
        with acquire(tmp_path / ".lock", timeout=1, mode="bogus", what="x"):
            pass


def test_read_owner_reports_the_fcntl_holder(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    with acquire(lock, timeout=1, mode="fcntl", what="x"):
        owner = locking.read_owner(lock)
        assert owner is not None and owner.pid == os.getpid()
    assert locking.read_owner(lock) is None

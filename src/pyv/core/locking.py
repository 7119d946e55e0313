"""Inter-process locks for the store and other shared state, also on network filesystems.

``acquire()`` is the one entry point. Two mechanisms:

``fcntl``
    ``flock()`` through :mod:`filelock` (the default on local disks). The holder
    writes its host, pid, start time and command line into ``<lock>.holder`` so
    a waiter can say who holds it.
``lockfile``
    pyv's own protocol, for NFS, Lustre, GPFS, BeeGFS, CIFS and FUSE mounts,
    where ``flock()`` may be refused or only honoured on one host (why it is not
    filelock's soft lock: docs/decisions.md). A separate ``<lock>.owner`` file
    created with ``O_CREAT|O_EXCL`` holds the owner's record. The holder touches
    it every :data:`HEARTBEAT` seconds. A waiter breaks it when it is stale: same
    host and the owning process is gone (or the host rebooted), or another
    host's file has not been touched for ``stale_after`` seconds (default
    :data:`DEFAULT_STALE_AFTER`, generous so clock skew and slow disks never
    break a live holder's lock).

``mode="auto"`` picks ``lockfile`` when the lock's directory is on a network or
FUSE filesystem (per ``/proc/self/mountinfo``) or when a probe shows ``flock()``
is refused or not exclusive there; ``settings.lock_mode`` forces either.

A waiter still waiting after :data:`NOTICE_AFTER` seconds says once who holds the lock
and what it runs, as a notice of :func:`pyv.core.report.process_reporter` (so ``-q`` silences
it); under ``-v`` it also says how long it waited.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import socket
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import ConfigError, LockTimeout, from_os_error
from pyv.core.fsutil import filesystem_type, is_network_filesystem, pid_alive
from pyv.core.report import process_reporter

if TYPE_CHECKING:
    import filelock

#: Seconds a lockfile from another host may go untouched before it counts as stale.
DEFAULT_STALE_AFTER = 15 * 60.0
#: How often a lockfile holder refreshes its file's mtime.
HEARTBEAT = 20.0
#: Seconds a waiter waits silently before it says who holds the lock.
NOTICE_AFTER = 1.0
#: A lockfile that stays empty this long was left by a process that died while creating it.
_EMPTY_GRACE = 30.0
_POLL = 0.05
_POLL_MAX = 0.5

_held_lock = threading.Lock()
#: (resolved lock path, thread id) -> depth, so a thread may re-enter its own lock.
_held: dict[tuple[str, int], int] = {}
_mode_cache: dict[int, str] = {}


@dataclass(frozen=True)
class LockOwner:
    """Who holds (or held) a lock, as recorded in the lock file."""

    host: str
    pid: int
    time: str = ""
    boot_id: str = ""
    start: str = ""
    token: str = ""
    cmd: str = ""  # the holder's command line: what it is doing

    def describe(self) -> str:
        since = f" since {_local_time(self.time)}" if self.time else ""
        doing = f", running {self.cmd}" if self.cmd else ""
        return f"pid {self.pid} on {self.host}{since}{doing}"

    def to_json(self) -> str:
        return json.dumps({"host": self.host, "pid": self.pid, "time": self.time,
                           "boot_id": self.boot_id, "start": self.start, "token": self.token,
                           "cmd": self.cmd})


def owner_file(path: Path) -> Path:
    """The ``O_EXCL`` file used in lockfile mode for the lock at ``path``."""
    return path.with_name(path.name + ".owner")


def holder_file(path: Path) -> Path:
    """Where an fcntl-mode holder of the lock at ``path`` records itself.

    Not the lock file itself: filelock may truncate that on every attempt to take it."""
    return path.with_name(path.name + ".holder")


# ----- who am I ---------------------------------------------------------------
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """The process start time in clock ticks since boot (Linux), to tell pid reuse apart."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses; fields follow the last ')'.
    fields = data[data.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else ""


def _command_line(limit: int = 60) -> str:
    """This process's command line, short: ``pyv install 3.13``."""
    argv = sys.argv or [""]
    first = "python -c" if argv[0] == "-c" else (os.path.basename(argv[0]) or "python")
    text = " ".join([first, *argv[1:]])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _me() -> LockOwner:
    pid = os.getpid()
    return LockOwner(
        host=socket.gethostname(), pid=pid,
        time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        boot_id=_boot_id(), start=_start_time(pid), token=os.urandom(8).hex(),
        cmd=_command_line(),
    )


def parse_owner(text: str) -> LockOwner | None:
    try:
        data = json.loads(text)
        return LockOwner(host=str(data["host"]), pid=int(data["pid"]),
                         time=str(data.get("time", "")), boot_id=str(data.get("boot_id", "")),
                         start=str(data.get("start", "")), token=str(data.get("token", "")),
                         cmd=str(data.get("cmd", "")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def read_owner(path: Path) -> LockOwner | None:
    """The recorded holder of the lock at ``path`` (either mode), if any."""
    # ``path`` itself: where earlier pyv releases recorded an fcntl holder.
    for candidate in (owner_file(path), holder_file(path), path):
        try:
            owner = parse_owner(candidate.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if owner is not None:
            return owner
    return None


def is_stale(owner: LockOwner, mtime: float, *, now: float, stale_after: float,
             host: str | None = None) -> bool:
    """Whether a lockfile recorded by ``owner`` and last touched at ``mtime`` is stale."""
    here = host if host is not None else socket.gethostname()
    if owner.host == here:
        boot = _boot_id()
        if owner.boot_id and boot and owner.boot_id != boot:
            return True  # the machine rebooted since
        if not pid_alive(owner.pid):
            return True
        start = _start_time(owner.pid)
        # The pid lives but belongs to another process started later (pid reuse).
        return bool(owner.start and start and owner.start != start)
    return now - mtime > stale_after


# ----- which mechanism --------------------------------------------------------
def probe_flock(directory: Path) -> bool:
    """True if ``flock()`` works in ``directory`` and excludes a second open file."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    probe = directory / f".pyv-lock-probe.{os.getpid()}.{os.urandom(4).hex()}"
    try:
        first = os.open(probe, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return True  # cannot test here (read-only?); let the real lock report the error
    second = -1
    try:
        second = os.open(probe, os.O_RDWR)
        fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            fcntl.flock(second, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False  # both got it: the filesystem does not enforce the lock
    except OSError:
        return False  # ENOLCK, EOPNOTSUPP, ENOSYS…
    finally:
        os.close(first)
        if second >= 0:
            os.close(second)
        with contextlib.suppress(OSError):
            os.unlink(probe)


def detect_lock_mode(directory: Path, mountinfo: Path = Path("/proc/self/mountinfo")) -> str:
    """``"fcntl"`` or ``"lockfile"``: the mechanism ``auto`` uses for locks in ``directory``."""
    if is_network_filesystem(filesystem_type(directory, mountinfo)):
        return "lockfile"
    return "fcntl" if probe_flock(directory) else "lockfile"


def resolve_mode(mode: str, directory: Path) -> str:
    if mode in ("fcntl", "lockfile"):
        return mode
    if mode != "auto":
        raise ConfigError(f"lock_mode must be auto, fcntl or lockfile, got {mode!r}")
    try:
        dev = directory.stat().st_dev
    except OSError:
        return detect_lock_mode(directory)
    if dev not in _mode_cache:
        _mode_cache[dev] = detect_lock_mode(directory)
    return _mode_cache[dev]


def _file_mode(directory: Path) -> int:
    """0o664 in a group-shared (setgid or group-writable) directory, else 0o644."""
    try:
        st = directory.stat()
    except OSError:
        return 0o644
    return 0o664 if st.st_mode & (stat.S_ISGID | stat.S_IWGRP) else 0o644


# ----- the entry point --------------------------------------------------------
@contextlib.contextmanager
def acquire(path: Path, *, timeout: float, mode: str = "auto", what: str,
            stale_after: float = DEFAULT_STALE_AFTER) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the duration of the block.

    ``what`` names the locked resource in messages ("the version store at …").
    Re-entrant per thread. Raises :class:`LockTimeout` naming the holder when known.
    """
    wait = _Wait(what, _bounded(timeout))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise from_os_error(exc, f"creating the lock directory for {what}") from None
    key = (os.path.realpath(path), threading.get_ident())
    with _held_lock:
        depth = _held.get(key, 0)
        if depth:
            _held[key] = depth + 1
    if depth:
        try:
            yield
        finally:
            with _held_lock:
                _held[key] -= 1
        return
    chosen = resolve_mode(mode, path.parent)
    locker = _flock if chosen == "fcntl" else _lockfile
    with locker(path, wait, stale_after):
        wait.done()
        with _held_lock:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_lock:
                _held.pop(key, None)


def _bounded(timeout: float) -> float:
    """The seconds to wait: never forever (settings should have refused the value already)."""
    if not math.isfinite(timeout):
        raise ConfigError(f"lock_timeout must be a finite number of seconds, got {timeout!r}",
                          "set PYV_LOCK_TIMEOUT (or lock_timeout in the config file) to e.g. 60")
    # Negative means one attempt, as before; the cap keeps sleeps and filelock in range.
    return min(max(timeout, 0.0), threading.TIMEOUT_MAX)


class _Wait:
    """One acquisition's clock: when to say who holds the lock, when to give up."""

    def __init__(self, what: str, timeout: float) -> None:
        self.what = what
        self.timeout = timeout
        self.started = self.asked = time.monotonic()
        self._told = False

    def left(self) -> float:
        return max(0.0, self.started + self.timeout - time.monotonic())

    def notice(self, owner: LockOwner | None) -> None:
        """Say once, after :data:`NOTICE_AFTER` seconds, whom we are waiting for."""
        if self._told or time.monotonic() - self.started < NOTICE_AFTER:
            return
        self._told = True
        process_reporter().notice(_waiting_line(owner, self.what))

    def asking(self) -> None:
        """The first attempt starts now (set-up such as importing filelock is no wait)."""
        self.asked = time.monotonic()

    def done(self) -> None:
        """Got it: under ``-v``, say how long that took when it was not at once."""
        waited = time.monotonic() - self.asked
        if waited >= _POLL:
            process_reporter().detail(f"waited {waited:.1f}s for the lock on {self.what}")

    def timed_out(self, owner: LockOwner | None) -> LockTimeout:
        holder = f" ({owner.describe()})" if owner else ""
        return LockTimeout(
            f"another pyv process{holder} has held the lock on {self.what} "
            f"for over {self.timeout:g}s",
            "wait for it to finish, or raise PYV_LOCK_TIMEOUT",
        )


def _waiting_line(owner: LockOwner | None, what: str) -> str:
    if owner is None or owner.pid <= 0:
        return f"waiting for another pyv process, which holds {what}"
    where = "" if owner.host == socket.gethostname() else f" on {owner.host}"
    doing = f" ({owner.cmd})" if owner.cmd else ""
    since = f" since {_local_time(owner.time)}" if owner.time else ""
    return f"waiting for pid {owner.pid}{where}{doing}, which holds {what}{since}"


def _local_time(recorded: str) -> str:
    """``10:02`` for a time today, else ``2026-11-29 10:02``; the record as is if unreadable."""
    try:
        when = datetime.fromisoformat(recorded).astimezone()
    except ValueError:
        return recorded
    now = datetime.now(when.tzinfo)
    return when.strftime("%H:%M" if when.date() == now.date() else "%Y-%m-%d %H:%M")


def _sleep_interval(attempt: int) -> float:
    return min(_POLL * (1.5 ** attempt), _POLL_MAX)


# ----- fcntl mode: filelock ---------------------------------------------------
_REFUSED = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)


@contextlib.contextmanager
def _flock(path: Path, wait: _Wait, stale_after: float) -> Iterator[None]:
    import filelock

    file_mode = _file_mode(path.parent)
    # Always a flock() on this one file that every pyv honours: a filesystem without
    # flock() is pyv's to handle (lockfile mode), not filelock's soft-marker fallback.
    lock = filelock.FileLock(str(path), mode=file_mode, fallback_to_soft=False,
                             preserve_lock_file=True)
    try:
        wait.asking()
        if not _take(lock, min(wait.timeout, NOTICE_AFTER)):
            # filelock 3.19 retries an ENOLCK as if the lock were held: ask the filesystem.
            if not probe_flock(path.parent):
                raise _refused(wait.what, "flock() fails or does not exclude there")
            if wait.left() > 0:
                wait.notice(_flock_holder(path))
            if not _take(lock, wait.left()):
                raise wait.timed_out(_flock_holder(path))
    except NotImplementedError:  # filelock < 3.20 on a filesystem without flock()
        raise _refused(wait.what, "flock() is not implemented") from None
    except OSError as exc:
        if exc.errno in _REFUSED:
            raise _refused(wait.what, exc.strerror or str(exc)) from None
        raise from_os_error(exc, f"locking {wait.what}") from None
    try:
        _ensure_mode(path, file_mode)  # an older lock file may predate the group store
        record = holder_file(path)
        _write_record(record, _me(), file_mode)
        try:
            yield
        finally:
            # Before the unlock: after it, the file may already be the next holder's.
            with contextlib.suppress(OSError):
                record.unlink()
    finally:
        lock.release()


def _flock_holder(path: Path) -> LockOwner | None:
    """Who holds the flock() on ``path``, as far as the records tell."""
    for record in (holder_file(path), path):  # ``path``: earlier pyv releases wrote it there
        owner = _read_lockfile(record)
        # A record left by a holder that died cannot name the live one.
        if owner is not None and not is_stale(owner, time.time(), now=time.time(),
                                              stale_after=math.inf):
            return owner
    return None


def _take(lock: filelock.BaseFileLock, timeout: float) -> bool:
    import filelock

    try:
        lock.acquire(timeout=timeout, poll_interval=_POLL)
    except filelock.Timeout:
        return False
    return True


def _refused(what: str, reason: str) -> LockTimeout:
    return LockTimeout(f"the filesystem holding {what} refuses file locks ({reason})",
                       "set PYV_LOCK_MODE=lockfile")


def _write_record(target: Path, me: LockOwner, file_mode: int) -> None:
    """Best effort: the record only serves messages, never the exclusion."""
    with contextlib.suppress(OSError):
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, file_mode)
        try:
            _ensure_mode(fd, file_mode)
            os.write(fd, me.to_json().encode())
        finally:
            os.close(fd)


def _ensure_mode(target: int | Path, wanted: int) -> None:
    """Undo the umask on a lock file we own (an fd or a path) so a group can share it."""
    with contextlib.suppress(OSError):
        st = os.stat(target)
        mine = st.st_uid == os.getuid()
        if mine and stat.S_IMODE(st.st_mode) != wanted and wanted & stat.S_IWGRP:
            os.chmod(target, wanted)


# ----- lockfile mode: pyv's own protocol ----------------------------------------
@contextlib.contextmanager
def _lockfile(path: Path, wait: _Wait, stale_after: float) -> Iterator[None]:
    target = owner_file(path)
    me = _me()
    file_mode = _file_mode(path.parent)
    attempt = 0
    wait.asking()
    while True:
        if _try_create(target, me, file_mode, wait.what):
            break
        owner = _break_if_stale(target, stale_after)
        if owner is None:
            continue  # it was stale and is gone (or vanished on its own): try again now
        known = owner if owner.pid > 0 else None
        if wait.left() <= 0:
            raise wait.timed_out(known)
        wait.notice(known)
        time.sleep(min(_sleep_interval(attempt), wait.left()))
        attempt += 1
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(target, me, stop), daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        # Remove it only if it is still ours (a waiter may have judged it stale).
        current = _read_lockfile(target)
        if current is not None and current.token == me.token:
            with contextlib.suppress(OSError):
                target.unlink()


def _try_create(target: Path, me: LockOwner, file_mode: int, what: str) -> bool:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode)
    except FileExistsError:
        return False
    except OSError as exc:
        raise from_os_error(exc, f"locking {what}") from None
    try:
        _ensure_mode(fd, file_mode)
        os.write(fd, me.to_json().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def _read_lockfile(target: Path) -> LockOwner | None:
    try:
        return parse_owner(target.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None


def _break_if_stale(target: Path, stale_after: float) -> LockOwner | None:
    """Remove ``target`` if stale; return its owner if it is (still) held, else None."""
    try:
        mtime = target.stat().st_mtime
    except FileNotFoundError:
        return None
    except OSError:
        return LockOwner(host="?", pid=0)
    owner = _read_lockfile(target)
    now = time.time()
    if owner is None:
        # Being written right now, or its creator died between create and write.
        if now - mtime <= _EMPTY_GRACE:
            return LockOwner(host="?", pid=0)
    elif not is_stale(owner, mtime, now=now, stale_after=stale_after):
        return owner
    _remove_stale(target, owner)
    return None


def _remove_stale(target: Path, judged: LockOwner | None) -> None:
    """Unlink a stale lockfile without removing a fresh one another waiter just made.

    A rename to a unique name is atomic; only if the renamed file is still the one
    we judged do we delete it, otherwise we put it back (``link`` fails rather than
    overwrite a newer lock)."""
    aside = target.with_name(f"{target.name}.stale.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        os.rename(target, aside)
    except OSError:
        return
    moved = _read_lockfile(aside)
    same = (moved is None and judged is None) or (
        moved is not None and judged is not None and moved.token == judged.token
        and moved.pid == judged.pid and moved.host == judged.host)
    if not same:
        with contextlib.suppress(OSError):
            os.link(aside, target)
    with contextlib.suppress(OSError):
        os.unlink(aside)


def _heartbeat(target: Path, me: LockOwner, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT):
        current = _read_lockfile(target)
        if current is None or current.token != me.token:
            return
        with contextlib.suppress(OSError):
            os.utime(target)

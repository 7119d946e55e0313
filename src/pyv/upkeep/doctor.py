"""``pyv doctor``: check the installation and the host, and explain each fix.

Every check is a function of its inputs (environment, filesystem root, host,
clock, ``statvfs``) so tests can stage broken setups. Levels:

``ok``       nothing to do
``info``     worth knowing, nothing wrong (e.g. a read-only shared store)
``warning``  something will misbehave in some uses (catalog stale, CA bundle only
             reachable through ``SSL_CERT_FILE``, shims shadowed on PATH)
``error``    something is broken now (glibc too old, store not writable, disk full)

A report with any warning or error is not healthy: ``pyv doctor`` exits 1.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyv.core.errors import PyvError
from pyv.core.fsutil import (
    filesystem_type,
    human_size,
    is_network_filesystem,
    nearest_existing_dir,
)

if TYPE_CHECKING:
    from pyv.acquire.update import CatalogStatus
    from pyv.core.platform import Host
    from pyv.core.settings import Settings

#: Levels, mildest first: "ok", "info", "warning", "error".
#: Levels that make the report unhealthy (exit status 1).
PROBLEM_LEVELS = frozenset({"warning", "error"})
#: Free space and inodes below which installs are at risk.
SPACE_WARNING = 1 << 30
SPACE_ERROR = 256 << 20
INODES_WARNING = 50_000
INODES_ERROR = 10_000
#: A download younger than this may still be resumed; older ``.part`` files are leftovers.
PART_MAX_AGE = 24 * 3600.0
#: Temporary files older than this belong to no live operation.
TMP_MAX_AGE = 3600.0
CATALOG_MAX_AGE_DAYS = 90.0
#: Where python-build-standalone's OpenSSL (OPENSSLDIR=/etc/ssl) finds trust anchors.
SSL_CERT_FILE_DEFAULT = "etc/ssl/cert.pem"
SSL_CERT_DIR_DEFAULT = "etc/ssl/certs"
#: Bundles other distributions keep elsewhere, best first.
OTHER_CA_BUNDLES = (
    "etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine, Arch
    "etc/pki/tls/certs/ca-bundle.crt",  # RHEL, CentOS, Rocky, Alma, Fedora
    "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL-family source of the above
    "etc/ssl/ca-bundle.pem",  # SUSE
)
TERMINFO_DEFAULT = "usr/share/terminfo"
TERMINFO_OTHERS = ("etc/terminfo", "lib/terminfo")
_HASHED_CERT = re.compile(r"^[0-9a-f]{8}\.\d+$")


@dataclass(frozen=True)
class Finding:
    """One check's result, with the fix when something is wrong."""

    check: str
    level: str
    message: str
    fix: str | None = None
    paths: tuple[str, ...] = ()

    @property
    def is_problem(self) -> bool:
        return self.level in PROBLEM_LEVELS

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "level": self.level, "message": self.message,
                "fix": self.fix, "paths": list(self.paths)}


@dataclass(frozen=True)
class DoctorReport:
    findings: tuple[Finding, ...]
    #: Paths ``--fix`` removed.
    fixed: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return not any(f.is_problem for f in self.findings)

    def count(self, level: str) -> int:
        return sum(1 for f in self.findings if f.level == level)

    def to_json(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "findings": [f.to_json() for f in self.findings],
                "fixed": list(self.fixed)}


# ----- PATH and the shell ------------------------------------------------------
def _path_entries(environ: Mapping[str, str]) -> list[str]:
    return [os.path.normpath(p) for p in environ.get("PATH", "").split(os.pathsep) if p]


def _same_dir(a: str, b: Path) -> bool:
    if os.path.normpath(a) == os.path.normpath(str(b)):
        return True
    return os.path.realpath(a) == os.path.realpath(b)


def _has_python(directory: str) -> bool:
    for name in ("python3", "python"):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return True
    return False


def hint_shell(environ: Mapping[str, str], shell_function: str | None = None,
               parent_shell: str | None = None) -> str:
    """The integration whose line the fixes show: the shell whose ``pyv`` function ran us,
    else the process pyv runs in (its parent), else ``$SHELL``; ``sh`` when unknown."""
    from pyv.choose.shims import check_shell, detect_shell

    for name in (shell_function, parent_shell):
        if name:
            with contextlib.suppress(PyvError):
                return check_shell(name)
    return detect_shell(environ).shell


def check_path(environ: Mapping[str, str], shims_dir: Path, shell: str = "sh") -> Finding:
    """The shims directory is on PATH, before any other directory holding a ``python3``."""
    from pyv.core.shells import load_hint

    entries = _path_entries(environ)
    index = next((i for i, e in enumerate(entries) if _same_dir(e, shims_dir)), None)
    if index is None:
        return Finding("path", "warning", f"the shims directory {shims_dir} is not on PATH",
                       f"{load_hint(shell)}, then open a new shell")
    venv = environ.get("VIRTUAL_ENV", "")
    venv_bin = os.path.join(venv, "bin") if venv else None
    for entry in entries[:index]:
        if venv_bin and _same_dir(entry, Path(venv_bin)):
            continue  # an active virtual environment rightly comes first
        if _has_python(entry):
            return Finding(
                "path", "warning",
                f"{entry} comes before the shims on PATH and has its own python3, which wins",
                f"{load_hint(shell)}, after anything else that edits PATH (pyenv, conda, "
                "modules): it moves the shims to the front; then open a new shell",
            )
    return Finding("path", "ok", f"the shims directory {shims_dir} comes first on PATH")


def check_shell(environ: Mapping[str, str], shims_dir: Path, shell_function: str | None = None,
                shell: str = "sh") -> Finding:
    """The shell integration (``pyv init``) is loaded in the shell this pyv was typed in: its
    ``pyv`` function marks the pyv it runs (``shell_function``, see pyv.core.shells)."""
    from pyv.core.shells import load_hint

    if shell_function:
        return Finding("shell", "ok", f"the {shell_function} integration is loaded "
                                      "(this pyv ran through its `pyv` function)")
    on_path = any(_same_dir(e, shims_dir) for e in _path_entries(environ))
    hint = (f"{load_hint(shell)}, then open a new shell; `pyv shell` and `pyv activate` "
            "need it")
    if on_path:
        return Finding("shell", "info", "the shims are on PATH, but this `pyv` is not the "
                                        "shell integration's function", hint)
    return Finding("shell", "warning", "the shell integration is not loaded in this shell",
                   hint)


# ----- the host -----------------------------------------------------------------
def check_libc(host: Host) -> Finding:
    """The host's libc can run python-build-standalone builds."""
    from pyv.core.platform import glibc_floor

    if host.os != "linux":
        return Finding("libc", "ok", f"{host.describe()}: no libc floor applies")
    if host.libc == "musl":
        return Finding("libc", "info", f"{host.describe()}: musl host, pyv picks musl builds")
    floor = glibc_floor(host.arch)
    if host.glibc is None:
        return Finding("libc", "warning",
                       f"could not read the glibc version of this {host.key} host",
                       f"make sure it has glibc {floor[0]}.{floor[1]} or newer (`ldd --version`)")
    if host.glibc < floor:
        return Finding(
            "libc", "error",
            f"glibc {host.glibc[0]}.{host.glibc[1]} is older than the {floor[0]}.{floor[1]} "
            "the builds need",
            "use a newer system image or a container; managed interpreters cannot run here",
        )
    return Finding("libc", "ok", f"{host.describe()} (the builds need glibc "
                   f"{floor[0]}.{floor[1]} or newer)")


def _hashed_certs(directory: Path) -> bool:
    try:
        return any(_HASHED_CERT.match(entry.name) for entry in os.scandir(directory))
    except OSError:
        return False


def check_ca_bundle(environ: Mapping[str, str], root: Path = Path("/")) -> Finding:
    """The managed interpreters' OpenSSL (OPENSSLDIR=/etc/ssl) finds the trust anchors."""
    cert_file = environ.get("SSL_CERT_FILE", "")
    cert_dir = environ.get("SSL_CERT_DIR", "")
    if cert_file:
        path = Path(cert_file)
        if path.is_file():
            return Finding("ca-bundle", "ok", f"SSL_CERT_FILE={cert_file} is used for TLS")
        return Finding("ca-bundle", "error", f"SSL_CERT_FILE={cert_file} does not exist",
                       "point SSL_CERT_FILE at your CA bundle or unset it")
    if cert_dir:
        if _hashed_certs(Path(cert_dir)):
            return Finding("ca-bundle", "ok", f"SSL_CERT_DIR={cert_dir} is used for TLS")
        return Finding("ca-bundle", "error",
                       f"SSL_CERT_DIR={cert_dir} holds no hashed certificates",
                       "point SSL_CERT_DIR at a c_rehash'ed directory, or unset it")
    default_file = root / SSL_CERT_FILE_DEFAULT
    default_dir = root / SSL_CERT_DIR_DEFAULT
    if default_file.is_file():
        return Finding("ca-bundle", "ok", f"/{SSL_CERT_FILE_DEFAULT} exists (used by default)")
    if _hashed_certs(default_dir):
        return Finding("ca-bundle", "ok", f"/{SSL_CERT_DIR_DEFAULT} holds hashed certificates")
    for candidate in OTHER_CA_BUNDLES:
        if (root / candidate).is_file():
            return Finding(
                "ca-bundle", "warning",
                f"the CA bundle is at /{candidate}, where the managed interpreters' OpenSSL "
                f"does not look (it reads /{SSL_CERT_FILE_DEFAULT} and /{SSL_CERT_DIR_DEFAULT})",
                f"export SSL_CERT_FILE=/{candidate} (admins: ln -s /{candidate} "
                f"/{SSL_CERT_FILE_DEFAULT})",
                paths=(f"/{candidate}",),
            )
    return Finding("ca-bundle", "error", "no CA certificate bundle found on this host",
                   "install the ca-certificates package, or set SSL_CERT_FILE to a bundle")


def check_terminfo(environ: Mapping[str, str], root: Path = Path("/")) -> Finding:
    """The managed interpreters' ncurses finds the terminfo database (REPL line editing)."""
    for name in ("TERMINFO_DIRS", "TERMINFO"):
        if environ.get(name):
            return Finding("terminfo", "ok", f"{name}={environ[name]} is set")
    if (root / TERMINFO_DEFAULT).is_dir():
        return Finding("terminfo", "ok", f"/{TERMINFO_DEFAULT} exists")
    found = [f"/{d}" for d in TERMINFO_OTHERS if (root / d).is_dir()]
    if found:
        return Finding(
            "terminfo", "warning",
            f"/{TERMINFO_DEFAULT} is missing; the terminfo database is in {', '.join(found)}, "
            "so the REPL falls back to a dumb terminal (no arrow keys)",
            f"export TERMINFO_DIRS={':'.join(found)}", paths=tuple(found),
        )
    return Finding("terminfo", "warning",
                   "no terminfo database found; the REPL has no line editing",
                   "install ncurses-base/ncurses-term, or set TERMINFO_DIRS")


# ----- the store ------------------------------------------------------------------
def check_disk(path: Path, statvfs: Callable[[str], Any] = os.statvfs) -> Finding:
    """Free space and inodes where the store lives."""
    where = nearest_existing_dir(path)
    try:
        st = statvfs(str(where))
    except OSError as exc:
        return Finding("disk", "warning", f"cannot read free space of {where}: {exc.strerror}")
    free = st.f_bavail * st.f_frsize
    problems: list[tuple[str, str]] = []
    if free < SPACE_ERROR:
        problems.append(("error", f"only {human_size(free)} free"))
    elif free < SPACE_WARNING:
        problems.append(("warning", f"only {human_size(free)} free"))
    # Filesystems that do not count inodes (btrfs, some network ones) report 0 files.
    if st.f_files:
        if st.f_favail < INODES_ERROR:
            problems.append(("error", f"only {st.f_favail} free inodes"))
        elif st.f_favail < INODES_WARNING:
            problems.append(("warning", f"only {st.f_favail} free inodes"))
    if not problems:
        inodes = f", {st.f_favail} inodes" if st.f_files else ""
        return Finding("disk", "ok", f"{human_size(free)} free{inodes} at {where}")
    level = "error" if any(lvl == "error" for lvl, _ in problems) else "warning"
    return Finding(
        "disk", level,
        f"{' and '.join(text for _, text in problems)} at {where}; an install needs ~300 MiB "
        "and ~10000 inodes",
        "free some space, run `pyv uninstall` on unused versions, or set PYV_HOME to a larger "
        "disk (on a cluster: a project or scratch area, not the home quota)",
    )


def _holds_pyv_store(extra: Path) -> bool:
    """Whether an extra store (or its ``pythons/``) has pyv's lock or an install record."""
    from pyv.acquire.store import LOCKS, STORE_LOCK
    from pyv.core.locations import RECORD

    root = extra / "pythons" if (extra / "pythons").is_dir() else extra
    try:
        with os.scandir(root) as entries:
            return any(
                entry.name in (STORE_LOCK, LOCKS)
                or (entry.is_dir() and os.path.isfile(os.path.join(entry.path, RECORD)))
                for entry in entries
            )
    except OSError:
        return False


def check_permissions(settings: Settings) -> list[Finding]:
    """The user's store is writable and its locks usable; extra stores are readable."""
    from pyv.acquire.store import LOCKS, STORE_LOCK

    findings: list[Finding] = []
    store = settings.pythons_dir
    if store.exists():
        if not store.is_dir():
            findings.append(Finding("permissions", "error", f"{store} is not a directory",
                                    "move it away; pyv keeps its installations there"))
        elif not os.access(store, os.W_OK | os.X_OK):
            findings.append(Finding("permissions", "error", f"the store {store} is not writable",
                                    f"chmod u+rwx {store}, or set PYV_HOME to a directory you own"))
        else:
            findings.extend(_lock_findings(store, store / STORE_LOCK, store / LOCKS))
    else:
        parent = nearest_existing_dir(store)
        if not os.access(parent, os.W_OK | os.X_OK):
            findings.append(Finding(
                "permissions", "error",
                f"the store {store} cannot be created ({parent} is not writable)",
                "set PYV_HOME to a directory you own"))
    for extra in settings.stores:
        if not extra.is_dir():
            findings.append(Finding("permissions", "warning",
                                    f"the shared store {extra} does not exist",
                                    "fix the path in PYV_STORES / `stores` or ask its admin"))
        elif not os.access(extra, os.R_OK | os.X_OK):
            findings.append(Finding("permissions", "error",
                                    f"the shared store {extra} is not readable by you",
                                    "ask its admin for read access (chmod -R o+rX, or group)"))
        elif not _holds_pyv_store(extra):
            findings.append(Finding("permissions", "warning",
                                    f"{extra} (in PYV_STORES / `stores`) is not a pyv store: "
                                    "nothing in it was installed by pyv",
                                    "point it at a store made with `pyv install --store DIR`"))
        else:
            writable = "writable" if os.access(extra, os.W_OK) else "read-only"
            findings.append(Finding("permissions", "ok",
                                    f"shared store {extra} is readable ({writable})"))
    if not any(f.level != "ok" for f in findings):
        findings.insert(0, Finding("permissions", "ok", f"the store {store} is usable"))
    return findings


def _lock_findings(store: Path, lock: Path, locks_dir: Path) -> list[Finding]:
    findings: list[Finding] = []
    group_shared = bool(store.stat().st_mode & stat.S_ISGID)
    key_locks = sorted(locks_dir.glob("*.lock")) if locks_dir.is_dir() else []
    for path in (lock, *key_locks):
        if not path.exists():
            continue
        if not os.access(path, os.W_OK):
            findings.append(Finding("permissions", "error", f"the lock file {path} is not writable",
                                    f"ask its owner to run: chmod g+w {path} (or remove it)"))
        elif group_shared and not path.stat().st_mode & stat.S_IWGRP:
            findings.append(Finding("permissions", "warning",
                                    f"{path} in a group store is not group-writable",
                                    f"chmod g+w {path}"))
    fstype = filesystem_type(store)
    if is_network_filesystem(fstype):
        findings.append(Finding("locks", "info",
                                f"the store is on {fstype}: auto lock mode uses lock files "
                                "(set lock_mode = \"fcntl\" only if flock works across hosts)"))
    return findings


# ----- leftovers -------------------------------------------------------------------
def find_leftovers(settings: Settings, now: float | None = None) -> list[Path]:
    """Remains of interrupted operations that pyv made and no live pyv process owns.

    Damaged installations and foreign entries of the store are not leftovers: they
    are reported by :func:`check_store_entries` and never removed.
    """
    from pyv.acquire.store import Store
    from pyv.venv.create import leftovers as environment_leftovers

    clock = time.time() if now is None else now
    found = [*Store(settings.pythons_dir).leftovers(), *environment_leftovers(settings.envs_dir)]
    found.extend(_older(settings.downloads_cache_dir.rglob("*.part"), clock - PART_MAX_AGE))
    for directory in (settings.shims_dir, settings.index_dir, settings.catalog_dir,
                      settings.pythons_dir):
        found.extend(_older(directory.glob("*.tmp"), clock - TMP_MAX_AGE))
    found.extend(_stale_owner_files(settings, clock))
    return sorted(set(found))


def check_store_entries(settings: Settings) -> list[Finding]:
    """Installations whose record is damaged, and entries of the store pyv did not make."""
    from pyv.acquire.store import Store

    store = Store(settings.pythons_dir)
    findings = []
    damaged = store.damaged()
    if damaged:
        names = ", ".join(p.name for p in damaged)
        findings.append(Finding(
            "store", "warning",
            f"{len(damaged)} installation(s) with a damaged record, invisible to pyv: {names}",
            "; ".join(f"pyv install --reinstall {p.name}" for p in damaged),
            paths=tuple(str(p) for p in damaged)))
    foreign = store.foreign()
    if foreign:
        findings.append(Finding(
            "store", "warning",
            f"{len(foreign)} entr(y/ies) in {store.root} that pyv did not make: "
            + ", ".join(p.name for p in foreign),
            f"move them out of {store.root}; pyv never changes or removes them",
            paths=tuple(str(p) for p in foreign)))
    return findings


def _older(paths: Iterable[Path], cutoff: float) -> list[Path]:
    result = []
    for path in paths:
        with contextlib.suppress(OSError):
            if path.lstat().st_mtime < cutoff:
                result.append(path)
    return result


def _stale_owner_files(settings: Settings, now: float) -> list[Path]:
    from pyv.acquire.store import LOCKS
    from pyv.core import locking

    result = []
    candidates: list[Path] = []
    for directory in (settings.pythons_dir, settings.pythons_dir / LOCKS, settings.shims_dir,
                      settings.envs_dir, settings.catalog_dir):
        candidates.extend(directory.glob("*.owner"))
    for path in candidates:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        owner = locking.read_owner(path.with_name(path.name[: -len(".owner")]))
        if owner is None or locking.is_stale(owner, mtime, now=now,
                                             stale_after=locking.DEFAULT_STALE_AFTER):
            result.append(path)
    return result


def check_leftovers(leftovers: Sequence[Path]) -> Finding:
    if not leftovers:
        return Finding("leftovers", "ok", "no leftovers of interrupted operations")
    return Finding("leftovers", "warning",
                   f"{len(leftovers)} leftover(s) of interrupted operations take space",
                   "run `pyv doctor --fix` to remove them",
                   paths=tuple(str(p) for p in leftovers))


def fix_leftovers(settings: Settings, now: float | None = None) -> tuple[list[Path], str | None]:
    """Remove leftovers while holding the store and shims locks (so no live pyv is mid-way),
    then re-derive the minor links and the shim index from the install records.

    Returns what was removed and, if the locks could not be had, why not."""
    from pyv.acquire.store import STORE_LOCK, Store
    from pyv.core.locking import acquire

    removed: list[Path] = []
    store = Store(settings.pythons_dir)
    staging = store.root / ".staging"
    # Short wait: doctor should not hang behind a long install; say so instead.
    timeout = min(settings.lock_timeout, 10.0)
    try:
        removed.extend(_fix_environments(settings, timeout))
        if find_leftovers(settings, now):
            with acquire(settings.pythons_dir / STORE_LOCK, timeout=timeout,
                         mode=settings.lock_mode,
                         what=f"the version store at {settings.pythons_dir}"), \
                    acquire(settings.shims_dir / ".lock", timeout=timeout,
                            mode=settings.lock_mode, what=f"the shims in {settings.shims_dir}"):
                for path in find_leftovers(settings, now):
                    if path.parent == staging:
                        store.discard(path)  # puts back what a dead reinstall set aside
                        removed.append(path)
                    elif _remove(path):
                        removed.append(path)
        _relink(settings)
    except PyvError as exc:
        return removed, exc.message
    return removed, None


def _fix_environments(settings: Settings, timeout: float) -> list[Path]:
    """Clean what killed environment operations left, under the environments' lock."""
    from pyv.venv.create import clean_leftovers, leftovers
    from pyv.venv.registry import envs_lock

    if not leftovers(settings.envs_dir):
        return []
    with envs_lock(settings.replace(lock_timeout=timeout)):
        return clean_leftovers(settings.envs_dir)


def _relink(settings: Settings) -> None:
    """Minor links and shims from the records, as every install and rehash does."""
    from pyv.acquire.store import repair_minor_links
    from pyv.choose.shims import rehash

    repair_minor_links(settings)
    if settings.pythons_dir.is_dir() or settings.envs_dir.is_dir():
        rehash(settings)


def _remove(path: Path) -> bool:
    from pyv.core.fsutil import remove_tree

    try:
        if path.is_dir() and not path.is_symlink():
            remove_tree(path)
        else:
            path.unlink()
    except OSError:
        return False
    return True


# ----- the catalog -------------------------------------------------------------------
def check_catalog(status: CatalogStatus | None) -> Finding:
    if status is None:
        return Finding("catalog", "warning", "no catalog of builds could be read",
                       "run `pyv update`, or reinstall pyv")
    if status.age_days is None:
        return Finding("catalog", "info", f"catalog from {status.source}, age unknown")
    age = f"{status.age_days:.0f} days old"
    if status.age_days > CATALOG_MAX_AGE_DAYS:
        return Finding("catalog", "warning",
                       f"the catalog ({status.source}) is {age}; newer Python releases are missing",
                       "run `pyv update` (or upgrade pyv; offline: ask for a fresh mirror)")
    return Finding("catalog", "ok", f"catalog from {status.source}, {age}")


# ----- everything -----------------------------------------------------------------------
@dataclass(frozen=True)
class DoctorInputs:
    """What the checks look at; defaults are the real machine."""

    environ: Mapping[str, str]
    root: Path = Path("/")
    host: Host | None = None
    now: float | None = None
    statvfs: Callable[[str], Any] = field(default=os.statvfs)
    #: The shell whose integration's ``pyv`` function ran this pyv (Context.shell_function).
    shell_function: str | None = None
    #: The name of the process pyv runs in (:func:`parent_shell`), for the fixes' lines.
    parent_shell: str | None = None


def run_doctor(settings: Settings, inputs: DoctorInputs, *, fix: bool = False) -> DoctorReport:
    """Run every check (cleaning leftovers first when ``fix``) and return the findings."""
    from pyv.core.platform import current_host

    fixed: list[Path] = []
    fix_problem: str | None = None
    if fix:
        fixed, fix_problem = fix_leftovers(settings, inputs.now)
    shell = hint_shell(inputs.environ, inputs.shell_function, inputs.parent_shell)
    findings = [
        check_path(inputs.environ, settings.shims_dir, shell),
        check_shell(inputs.environ, settings.shims_dir, inputs.shell_function, shell),
        check_libc(inputs.host or current_host()),
        check_ca_bundle(inputs.environ, inputs.root),
        check_terminfo(inputs.environ, inputs.root),
        check_disk(settings.home, inputs.statvfs),
        *check_permissions(settings),
        *check_store_entries(settings),
    ]
    leftovers = check_leftovers(find_leftovers(settings, inputs.now))
    if fix_problem and leftovers.is_problem:
        leftovers = Finding(leftovers.check, leftovers.level,
                            f"{leftovers.message}; not cleaned: {fix_problem}",
                            "run `pyv doctor --fix` again when the other pyv is done",
                            leftovers.paths)
    findings.append(leftovers)
    findings.append(check_catalog(_catalog_status(settings, inputs.now)))
    return DoctorReport(tuple(findings), tuple(str(p) for p in fixed))


def _catalog_status(settings: Settings, now: float | None) -> CatalogStatus | None:
    from pyv.acquire.update import catalog_status

    try:
        return catalog_status(settings, now=now)
    except PyvError:
        return None

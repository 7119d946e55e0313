"""Install and upgrade: catalog → download → verify → extract → fix up → test → publish.

Uninstall is :mod:`pyv.acquire.installer.removal`.

One pass over the bytes: the archive is hashed and extracted while it is read
(from the network, the download cache or a local file) into an invisible
staging tree; only a verified, fixed-up, smoke-tested tree is renamed into the
store. A per-key lock makes concurrent installs of one version do the work
once; the store lock is held only around publishing and re-linking.

The installer knows neither the shims nor environments: callers hand it a
:class:`ShimIndex` (the shim index is prepared while the smoke test runs, then
committed or rolled back) and, for uninstall, the "environments use this" guard.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from pyv.acquire.installer.plan import InstallOptions as InstallOptions
from pyv.acquire.installer.plan import is_local_archive as is_local_archive
from pyv.acquire.installer.plan import plan_installs
from pyv.acquire.store import (
    Installation,
    Store,
    find_installed,
    record_for,
    repair_minor_links,
    user_store,
    write_record,
)
from pyv.core.errors import (
    ArchiveError,
    IntegrityError,
    NotFound,
    PyvError,
    from_os_error,
    shown_command,
)
from pyv.core.fsutil import is_group_store, remove_tree, share_tree
from pyv.core.interrupts import check as check_interrupted
from pyv.core.records import replace
from pyv.core.report import SILENT, Reporter

if TYPE_CHECKING:
    from pyv.acquire.catalog import Download
    from pyv.core.platform import Host
    from pyv.core.settings import Settings


class ShimIndex(Protocol):
    """How the installer keeps the shims and their index in step with the store."""

    def prepare(self, installation: Installation, staged_bin: Path) -> bool:
        """Make shims and index as if ``installation`` were published (its commands are
        read from ``staged_bin``); False when that could not be done (commit redoes it)."""

    def rollback(self) -> None:
        """Undo :meth:`prepare`: make them again from what is really published."""

    def commit(self, installations: Sequence[Installation]) -> None:
        """After a change: make sure they match the store and include ``installations``
        (nothing to do when a prepare did it and no rehash has undone it since)."""

    def refresh(self) -> None:
        """Make them again from what is published (after a removal)."""


#: ``in_use(installation)``: what uses it (environments), so uninstall refuses it.
InUseGuard = Callable[[Installation], Sequence[str]]


@dataclass(frozen=True)
class InstallOutcome:
    """What happened to one request."""

    request: str
    installation: Installation
    action: str  # "installed" | "reinstalled" | "already-installed"
    seconds: float = 0.0
    downloaded: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "request": self.request,
            "action": self.action,
            "seconds": round(self.seconds, 3),
            "downloaded": self.downloaded,
            **self.installation.to_json(),
        }


def target_store(settings: Settings, options: InstallOptions) -> Store:
    """The store a change goes to: ``--store DIR`` (or its ``pythons/``), else the user's."""
    if options.store is not None:
        root = options.store / "pythons" if (options.store / "pythons").is_dir() else options.store
        return Store(root, writable=True)
    return user_store(settings)


def install(
    settings: Settings,
    request_texts: Sequence[str],
    *,
    shims: ShimIndex,
    options: InstallOptions | None = None,
    report: Reporter = SILENT,
    host: Host | None = None,
    cwd: Path | None = None,
) -> list[InstallOutcome]:
    """Install every request (a version request or a local archive path).

    Also when all are already installed, their minor links and shims are checked
    and repaired (a process killed after publishing may have left them behind).
    """
    from pyv.core.platform import current_host

    options = options or InstallOptions()
    host = host or current_host()
    store = target_store(settings, options)
    store.check_writable(typed=options.store is not None)
    # What a killed pyv left behind goes now, whichever version it was installing.
    store.clean_leftovers(settings)
    planned = plan_installs(settings, request_texts, options, host=host, report=report, cwd=cwd)
    outcomes: list[InstallOutcome] = []
    try:
        for item in planned:
            outcomes.append(_install_one(settings, store, item.request, item.download, item.local,
                                         options, host, report, shims))
    finally:
        if outcomes:
            # Links and shims for what is installed, even when a later request failed.
            repair_minor_links(settings, store)
            shims.commit([o.installation for o in outcomes])
    return outcomes


def check_installable(download: Download, options: InstallOptions, host: Host) -> None:
    """Raise why ``download`` cannot be installed here: another platform, or no sha256 to
    verify it against (unless allowed)."""
    from pyv.core.platform import check_runs_on

    check_runs_on(
        host,
        os=download.os,
        arch=download.arch,
        libc=download.libc,
        arch_variant=download.arch_variant,
        what=download.key,
    )
    if not download.sha256 and not options.allow_missing_checksum:
        raise IntegrityError(
            f"{download.key} has no published sha256, so it cannot be verified",
            "pass --allow-missing-checksum to install it anyway (or --sha256 HEX for a local file)",
        )


@dataclass(frozen=True)
class PlannedDownload:
    """What ``pyv install --dry-run`` reports for one request."""

    request: str
    key: str
    url: str
    sha256: str | None
    action: str  # "install" | "reinstall" | "already-installed"
    #: Bytes to download; None: the catalog does not say (uv's and pyv's catalogs do not).
    size: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"request": self.request, "key": self.key, "url": self.url,
                "sha256": self.sha256, "size": self.size, "action": self.action}


def dry_run(
    settings: Settings,
    request_texts: Sequence[str],
    *,
    options: InstallOptions | None = None,
    report: Reporter = SILENT,
    host: Host | None = None,
    cwd: Path | None = None,
) -> list[PlannedDownload]:
    """What :func:`install` would fetch for each request, refused for the same reasons,
    without downloading or writing anything."""
    from pyv.acquire.catalog import download_url
    from pyv.core.platform import current_host

    options = options or InstallOptions()
    host = host or current_host()
    store = target_store(settings, options)
    planned: list[PlannedDownload] = []
    for item in plan_installs(settings, request_texts, options, host=host, report=report,
                              cwd=cwd):
        download = item.download
        check_installable(download, options, host)
        if store.get(download.key) is None:
            action = "install"
        else:
            action = "reinstall" if options.reinstall else "already-installed"
        url = item.local.as_uri() if item.local is not None else download_url(download, settings)
        planned.append(PlannedDownload(item.request, download.key, url, download.sha256, action))
    return planned


def _install_one(
    settings: Settings,
    store: Store,
    text: str,
    download: Download,
    local: Path | None,
    options: InstallOptions,
    host: Host,
    report: Reporter,
    shims: ShimIndex,
) -> InstallOutcome:
    check_installable(download, options, host)
    existing = store.get(download.key)
    if existing is not None and not options.reinstall:
        report.detail(f"{download.key} is already in {store.root}")
        return InstallOutcome(text, existing, "already-installed")
    start = time.monotonic()
    with store.key_lock(settings, download.key):
        # Another process may have finished the same install while we waited.
        existing = store.get(download.key)
        if existing is not None and not options.reinstall:
            return InstallOutcome(text, existing, "already-installed")
        store.clean_staging(settings, download.key)
        staging = store.new_staging(download.key)
        group_store = is_group_store(store.root)
        try:
            final_path = store.root / download.key
            tree = staging / "tree"
            downloaded = _fetch_and_extract(settings, download, local, tree, report, group_store)
            inst_exe = _fix_up(settings, download, tree, final_path)
            write_record(tree, record_for(download, inst_exe), group=group_store)
            if group_store:
                share_tree(tree)
            _smoke_test_and_prepare_shims(settings, store, download.key, tree, inst_exe, shims)
            with store.lock(settings):
                store.publish(tree, download.key, replace=options.reinstall)
                store.sync_minor_links()
        except OSError as exc:
            raise from_os_error(exc, f"installing {download.key}") from None
        finally:
            remove_tree(staging)
        installation = store.get(download.key)
        if installation is None:  # pragma: no cover - publish guarantees the record
            raise PyvError(f"{download.key} vanished right after it was installed")
        # Shared stores compile by default: no user then pays compile time or needs
        # write access to the store at import.
        compile_default = options.store is not None
        if compile_default if settings.compile_bytecode is None else settings.compile_bytecode:
            _compile(installation, group_store)
    action = "reinstalled" if existing is not None else "installed"
    return InstallOutcome(text, installation, action, time.monotonic() - start, downloaded)


def _compile(installation: Installation, group: bool) -> None:
    from pyv.acquire.checks import compile_bytecode

    compile_bytecode(installation.path, installation.executable, group=group)


def _fix_up(settings: Settings, download: Download, tree: Path, final_path: Path) -> str:
    """Apply the fix-ups; returns the interpreter's path inside the tree."""
    from pyv.acquire.fixups import apply_fixups, interpreter_executable

    if not (tree / "bin").is_dir() and not (tree / "lib").is_dir():
        raise ArchiveError(
            f"{download.filename} does not hold a Python installation under "
            f"{download.archive_root or 'its top directory'}",
            "check that the mirror serves the right file",
        )
    apply_fixups(
        tree,
        final_path,
        implementation=download.implementation,
        externally_managed=settings.externally_managed,
    )
    return str(interpreter_executable(
        tree, download.implementation, download.major, download.minor, download.freethreaded
    ))


def _smoke_test_and_prepare_shims(settings: Settings, store: Store, key: str, tree: Path,
                                  exe_rel: str, shims: ShimIndex) -> None:
    """Smoke-test the staged interpreter; meanwhile, on the other core, make its shims.

    The shims and index are prepared as if the tree were published; if the test
    fails they are rolled back, so nothing points at an installation that never
    appeared.
    """
    from pyv.acquire.checks import SmokeTest
    from pyv.acquire.store import read_installation

    test = SmokeTest(tree / exe_rel, scratch=tree.parent)  # the staging directory
    prepared = False
    try:
        # Only for the user's own store: the one every rehash reads (a --store elsewhere may
        # not be among the stores the shims see).
        staged = read_installation(tree, store.root) if store.root == settings.pythons_dir \
            else None
        if staged is not None:
            try:
                prepared = shims.prepare(replace(staged, path=store.root / key), tree / "bin")
            except PyvError:
                pass  # the commit after publishing reports it
        test.result()
        check_interrupted()  # a Ctrl-C that Python dropped still stops the install here
    except BaseException:
        test.cancel()
        if prepared:
            with contextlib.suppress(PyvError):
                shims.rollback()
        raise


def _fetch_and_extract(
    settings: Settings, download: Download, local: Path | None, tree: Path, report: Reporter,
    group: bool = False,
) -> bool:
    """Stream the archive into ``tree`` while hashing it; verify; keep it in the cache.

    A damaged cache entry is dropped and the archive fetched again. Returns whether
    the network was used.
    """
    from pyv.acquire.catalog import download_url

    cached = settings.downloads_cache_dir / download.filename
    url = download_url(download, settings) if local is None else local.as_uri()
    source_path = local if local is not None else _local_path(url)
    if source_path is None and cached.is_file():
        report.detail(f"{download.filename} is in the download cache: no download")
        try:
            return _extract_verified(settings, url, cached, cached, download, tree, report,
                                     group)
        except (ArchiveError, IntegrityError):
            report.notice(f"The cached {download.filename} is damaged; downloading it again")
            with contextlib.suppress(OSError):
                cached.unlink()
            remove_tree(tree)
    if source_path is not None:
        report.detail(f"reading {source_path}")
        return _extract_verified(settings, url, source_path, cached, download, tree, report,
                                 group)
    from pyv.acquire.download import restart_if_resumed

    return restart_if_resumed(
        _part_path(cached),
        lambda: _extract_verified(settings, url, None, cached, download, tree, report, group),
        report=report, cleanup=lambda: remove_tree(tree),
    )


def _extract_verified(
    settings: Settings, url: str, source_path: Path | None, cached: Path, download: Download,
    tree: Path, report: Reporter, group: bool = False,
) -> bool:
    """Extract from one source while hashing it; a bad download is not kept for resuming.

    ``group``: a group store's modes (see :func:`pyv.acquire.archive.extract_archive`)."""
    from pyv.acquire.archive import extract_archive
    from pyv.core.hashing import verify

    tree.mkdir(parents=True)
    network = False
    part = _part_path(cached)
    try:
        with _open_source(settings, url, source_path, cached, download, report) as (
            stream, network
        ):
            extract_archive(
                stream,  # type: ignore[arg-type]  # read() is all extraction uses
                download.archive_format,
                tree,
                root=download.archive_root,
                name=download.filename,
                group=group,
            )
            _drain(stream)
            actual = stream.sha256
        verify(download.sha256, actual, download.filename)
        checked = "verified" if download.sha256 else "not checked (none published)"
        report.detail(f"{download.filename}: sha256 {checked}")
    except (ArchiveError, IntegrityError) as exc:
        if not network:
            raise
        # Bad bytes must not be resumed by the next run; the hint must not send the
        # user looking for a file that is already gone.
        with contextlib.suppress(OSError):
            part.unlink()
        exc.hint = ("pyv deleted the download; run the command again to fetch it anew, "
                    "and if it fails the same way, check the mirror")
        raise
    if network:
        with contextlib.suppress(OSError):
            os.replace(part, cached)
    return network


class _HashedStream(Protocol):
    """What the extractor reads: sequential bytes plus the running digest."""

    @property
    def sha256(self) -> str: ...

    def read(self, size: int = -1, /) -> bytes: ...


def _part_path(cached: Path) -> Path:
    return cached.with_name(cached.name + ".part")


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "" and url:
        return Path(url)
    return None


@contextlib.contextmanager
def _open_source(
    settings: Settings,
    url: str,
    source_path: Path | None,
    cached: Path,
    download: Download,
    report: Reporter,
) -> Iterator[tuple[_HashedStream, bool]]:
    if source_path is not None:
        from pyv.core.hashing import HashingReader

        try:
            fh = open(source_path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise NotFound(
                f"{source_path} does not exist",
                "check PYV_PYTHON_INSTALL_MIRROR (file:// mirror) or the archive path",
            ) from None
        except OSError as exc:
            raise from_os_error(exc, f"opening {source_path}") from None
        with fh:
            yield HashingReader(fh), False
        return
    from pyv.acquire.download import open_download

    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise from_os_error(exc, "creating the download cache") from None
    # Shown by the download once the server answered (an offline refusal must be the only
    # line), as its progress bar on a terminal.
    status = f"Downloading {download.key} from {urlsplit(url).netloc or url}"
    with open_download(url, _part_path(cached), settings, label=download.key, report=report,
                       status=status) as stream:
        yield stream, True


def _drain(stream: _HashedStream) -> None:
    """Read what the extractor left (tar padding, compressor trailer) so the digest is whole."""
    while stream.read(1 << 20):
        pass


# ----- upgrade ----------------------------------------------------------------
def upgrade(
    settings: Settings,
    request_texts: Sequence[str] = (),
    *,
    shims: ShimIndex,
    report: Reporter = SILENT,
    host: Host | None = None,
) -> list[InstallOutcome]:
    """Install the newest patch of each installed minor version (old patches are kept)."""
    from pyv.acquire.catalog import load_catalog, newer_patch
    from pyv.core.platform import current_host
    from pyv.core.requests import parse_request

    host = host or current_host()
    store = user_store(settings)
    installed = store.installations()
    if request_texts:
        wanted: list[Installation] = []
        for text in request_texts:
            request = parse_request(text)
            found = [i for i in find_installed(settings, request) if i.store == store.root]
            if not found:
                raise NotFound(f"no installed Python matches {text!r}",
                               f"run {shown_command('pyv', 'install', text)}")
            wanted.extend(found)
        installed = wanted
    catalog = load_catalog(settings)
    seen_minor: set[str] = set()
    outcomes: list[InstallOutcome] = []
    for inst in installed:
        if inst.minor_key in seen_minor:
            continue
        seen_minor.add(inst.minor_key)
        newest = newer_patch(catalog, inst.minor_key, inst.version, host)
        if newest is None:
            continue
        current = store.get(newest.key)
        if current is not None:
            outcomes.append(InstallOutcome(inst.minor_key, current, "already-installed"))
            continue
        outcomes.append(
            _install_one(settings, store, inst.minor_key, newest, None, InstallOptions(), host,
                         report, shims)
        )
    if outcomes:
        repair_minor_links(settings, store)
        shims.commit([o.installation for o in outcomes])
    return outcomes

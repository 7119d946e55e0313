"""Seeding environments with pip (and setuptools + wheel below Python 3.12).

Wheels come from, in order: pyv's wheel cache (``$PYV_HOME/cache/wheels``, so
every seed after the first is offline), the package index (PEP 503/691 simple
API at ``PYV_INDEX_URL``/``PIP_INDEX_URL``, default PyPI; skipped when offline),
and the wheels the base interpreter bundles for ``ensurepip``.

Each wheel is unpacked and verified once into ``cache/wheels/unpacked/<wheel>``
(:func:`unpacked_wheel`); seeds hard-link from there (see :mod:`pyv.venv.wheel`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import html.parser
import json
import os
import re
import urllib.parse
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from pyv.errors import NetworkError, NotFound, PyvError

if TYPE_CHECKING:
    from pyv.settings import Settings
    from pyv.venv.wheel import UnpackedWheel

DEFAULT_INDEX_URL = "https://pypi.org/simple"


@dataclass(frozen=True)
class SeedWheel:
    """A wheel chosen for seeding and where it came from (cache|index|bundled)."""

    name: str
    version: Version
    path: Path
    source: str


@dataclass(frozen=True)
class IndexFile:
    """One file listed by a simple-API project page."""

    filename: str
    url: str
    sha256: str | None
    requires_python: str | None
    yanked: bool


def seed_packages(version: tuple[int, int, int]) -> tuple[str, ...]:
    """What ``--seed`` installs: pip, plus setuptools and wheel below 3.12 (as venv did)."""
    if version[:2] < (3, 12):
        return ("pip", "setuptools", "wheel")
    return ("pip",)


def index_url(settings: Settings) -> str:
    env = settings.environ
    return (env.get("PYV_INDEX_URL") or env.get("PIP_INDEX_URL") or DEFAULT_INDEX_URL).strip()


def wheel_cache(settings: Settings) -> Path:
    return settings.cache_dir / "wheels"


def _wheel_facts(path: Path) -> tuple[str, Version] | None:
    """(normalised name, version) of a pure-Python wheel file name, else None."""
    try:
        name, version, _, tags = parse_wheel_filename(path.name)
    except (InvalidWheelFilename, ValueError):
        return None
    if not any(str(t) == "py3-none-any" for t in tags):
        return None
    return str(name), version


def _requires_python(path: Path) -> str | None:
    """The Requires-Python of a wheel's METADATA (None if absent or unreadable)."""
    try:
        with zipfile.ZipFile(path) as zf:
            meta = next((n for n in zf.namelist()
                         if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
            if meta is None:
                return None
            head = zf.read(meta).split(b"\n\n", 1)[0].decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile):
        return None
    match = re.search(r"^Requires-Python:\s*(.+?)\s*$", head, re.MULTILINE)
    return match.group(1) if match else None


def _admits(requires: str | None, python: tuple[int, int, int]) -> bool:
    if not requires:
        return True
    try:
        return SpecifierSet(requires).contains(".".join(map(str, python)), prereleases=True)
    except InvalidSpecifier:
        return False


def _best_local(
    paths: Iterable[Path], name: str, python: tuple[int, int, int]
) -> tuple[Version, Path] | None:
    candidates: list[tuple[Version, Path]] = []
    for path in paths:
        facts = _wheel_facts(path)
        if facts and facts[0] == name and not facts[1].is_prerelease:
            candidates.append((facts[1], path))
    for version, path in sorted(candidates, reverse=True):
        if _admits(_requires_python(path), python):
            return version, path
    return None


def bundled_wheels_dir(base_executable: Path, site_packages: str) -> Path:
    """``ensurepip/_bundled`` of the base interpreter (its stdlib sits beside site-packages)."""
    prefix = Path(os.path.realpath(base_executable)).parent.parent
    stdlib = Path(site_packages).parent  # lib/python3.12
    return prefix / stdlib / "ensurepip" / "_bundled"


def find_seed_wheels(
    settings: Settings,
    python: tuple[int, int, int],
    base_executable: Path,
    site_packages: str,
    *,
    stderr: TextIO | None = None,
) -> list[SeedWheel]:
    """Pick a wheel for each seed package; pip is required, the others are best effort."""
    cache = wheel_cache(settings)
    bundled = bundled_wheels_dir(base_executable, site_packages)
    chosen: list[SeedWheel] = []
    network_error: PyvError | None = None
    for name in seed_packages(python):
        found = _best_local(_listdir(cache), name, python)
        if found:
            chosen.append(SeedWheel(name, found[0], found[1], "cache"))
            continue
        if not settings.offline and network_error is None:
            try:
                downloaded = download_seed_wheel(settings, name, python, stderr=stderr)
            except PyvError as exc:
                # Later packages would fail the same way; fall back to bundled wheels.
                network_error = exc
            else:
                if downloaded is not None:
                    chosen.append(downloaded)
                    continue
        found = _best_local(_listdir(bundled), name, python)
        if found:
            path = found[1]
            if not settings.offline:
                # The index could not help: keep this wheel so later seeds stay offline.
                path = _keep_in_cache(path, cache)
            chosen.append(SeedWheel(name, found[0], path, "bundled"))
            continue
        if name == "pip":
            why = f" ({network_error.message})" if network_error else ""
            raise NotFound(
                f"no pip wheel for Python {'.'.join(map(str, python))} is available{why}",
                f"seed once with network access, or put a pip wheel in {cache}",
            )
        if stderr is not None:
            stderr.write(f"warning: no {name} wheel available offline; seeding without it\n")
    if network_error is not None and stderr is not None:
        stderr.write(f"warning: could not reach the package index ({network_error.message}); "
                     "used the interpreter's bundled wheels\n")
    return chosen


def _keep_in_cache(wheel: Path, cache: Path) -> Path:
    """Copy ``wheel`` into the cache atomically; the original on any failure."""
    import shutil

    dest = cache / wheel.name
    tmp = cache / f".{wheel.name}.{os.getpid()}.tmp"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # copy2 keeps the mtime, so a tree unpacked from the original still matches the copy.
        shutil.copy2(wheel, tmp)
        os.replace(tmp, dest)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return wheel
    return dest


def unpacked_dir(settings: Settings) -> Path:
    return wheel_cache(settings) / "unpacked"


def _tree_root(settings: Settings, wheel: Path) -> Path:
    return unpacked_dir(settings) / wheel.name[: -len(".whl")]


def unpacked_wheel(settings: Settings, wheel: Path, *, remake: bool = False) -> UnpackedWheel:
    """The verified tree of ``wheel`` in the cache, made on first use (or when ``remake``).

    It is unpacked and verified in a temporary directory beside its final place and
    published by one rename, under the cache's lock, so no seed ever links from a
    half-made tree. Raises ``ArchiveError`` for a bad wheel, ``OSError`` when the
    cache cannot hold the tree.
    """
    from pyv.venv.wheel import load_unpacked

    root = _tree_root(settings, wheel)
    made_from = os.stat(wheel)
    if not remake:
        found = load_unpacked(root)
        if found is not None and found.made_from(made_from):
            return found
    from pyv.fsutil import remove_tree
    from pyv.locking import acquire
    from pyv.venv.wheel import unpack_wheel

    trees = unpacked_dir(settings)
    trees.mkdir(parents=True, exist_ok=True)
    with acquire(trees / ".lock", timeout=settings.lock_timeout, mode=settings.lock_mode,
                 what=f"the wheel cache at {trees}"):
        _remove_leftovers(trees)
        found = load_unpacked(root)
        # Another seed may have made it while this one waited; a damaged one goes.
        if found is not None and found.made_from(made_from) and not remake:
            return found
        tag = f"{os.getpid()}.{os.urandom(4).hex()}"
        tmp = trees / f".{root.name}.{tag}.tmp"
        try:
            tmp.mkdir()
            unpacked = unpack_wheel(wheel, tmp)
            if os.path.lexists(root):
                trash = trees / f".{root.name}.{tag}.old"
                os.rename(root, trash)
                remove_tree(trash)
            os.rename(tmp, root)
        except BaseException:
            remove_tree(tmp)
            raise
    return dataclasses.replace(unpacked, root=root)


def drop_unpacked(settings: Settings, wheel: Path) -> None:
    """Remove the tree of ``wheel`` (with the wheel, when it proved corrupt)."""
    from pyv.fsutil import remove_tree

    root = _tree_root(settings, wheel)
    if os.path.lexists(root):
        trash = root.with_name(f".{root.name}.{os.getpid()}.{os.urandom(4).hex()}.old")
        with contextlib.suppress(OSError):
            os.rename(root, trash)
            remove_tree(trash)


def _remove_leftovers(trees: Path) -> None:
    """Temporary trees of seeds that died (their pid is gone)."""
    from pyv.fsutil import pid_alive, remove_tree

    for name in os.listdir(trees):
        match = re.fullmatch(r"\..+\.(\d+)\.[0-9a-f]{8}\.(tmp|old)", name)
        if match and not pid_alive(int(match.group(1))):
            remove_tree(trees / name)


def _listdir(directory: Path) -> list[Path]:
    try:
        return [directory / n for n in os.listdir(directory) if n.endswith(".whl")]
    except OSError:
        return []


# ----- the index ---------------------------------------------------------------
class _LinkParser(html.parser.HTMLParser):
    """Anchors of a PEP 503 page with their data-* attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs))


def parse_project_page(content: bytes, page_url: str, content_type: str = "") -> list[IndexFile]:
    """Files of a simple-API project page, HTML (PEP 503) or JSON (PEP 691)."""
    text = content.decode("utf-8", "replace")
    files: list[IndexFile] = []
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise NetworkError(f"the package index page {page_url} is not valid JSON") from None
        for entry in data.get("files", []) if isinstance(data, dict) else []:
            if not isinstance(entry, dict) or "filename" not in entry or "url" not in entry:
                continue
            hashes = entry.get("hashes") or {}
            files.append(IndexFile(
                filename=str(entry["filename"]),
                url=urllib.parse.urljoin(page_url, str(entry["url"])),
                sha256=hashes.get("sha256") if isinstance(hashes, dict) else None,
                requires_python=entry.get("requires-python") or None,
                yanked=bool(entry.get("yanked")),
            ))
        return files
    parser = _LinkParser()
    parser.feed(text)
    for attrs in parser.links:
        href = attrs.get("href")
        if not href:
            continue
        url, _, fragment = urllib.parse.urljoin(page_url, href).partition("#")
        sha = fragment[len("sha256="):] if fragment.startswith("sha256=") else None
        filename = urllib.parse.unquote(url.rsplit("/", 1)[-1])
        files.append(IndexFile(
            filename=filename, url=url, sha256=sha,
            requires_python=attrs.get("data-requires-python") or None,
            yanked="data-yanked" in attrs,
        ))
    return files


def best_index_file(
    files: Iterable[IndexFile], name: str, python: tuple[int, int, int]
) -> IndexFile | None:
    """The newest final, unyanked, pure-Python wheel of ``name`` that admits ``python``."""
    best: tuple[Version, IndexFile] | None = None
    for f in files:
        if f.yanked or not f.filename.endswith(".whl"):
            continue
        facts = _wheel_facts(Path(f.filename))
        if not facts or facts[0] != name or facts[1].is_prerelease:
            continue
        if not _admits(f.requires_python, python):
            continue
        if best is None or facts[1] > best[0]:
            best = (facts[1], f)
    return best[1] if best else None


def _headers(page: Mapping[str, str]) -> str:
    return page.get("content-type", "")


def download_seed_wheel(
    settings: Settings, name: str, python: tuple[int, int, int], *, stderr: TextIO | None = None
) -> SeedWheel | None:
    """Download the best wheel of ``name`` from the index into the wheel cache."""
    from pyv import download

    page_url = index_url(settings).rstrip("/") + f"/{name}/"
    response = download.get(page_url, settings, headers={
        "Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.2",
    })
    files = parse_project_page(response.content, response.url or page_url,
                               _headers(response.headers))
    chosen = best_index_file(files, name, python)
    if chosen is None:
        return None
    dest = wheel_cache(settings) / chosen.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    # The download's one line (its progress bar on a terminal); none for a cache hit.
    status = f"Downloading {chosen.filename} into the wheel cache" if stderr is not None else ""
    download.fetch(chosen.url, dest, settings, expected_sha256=chosen.sha256, stderr=stderr,
                   status=status)
    facts = _wheel_facts(dest)
    assert facts is not None
    return SeedWheel(name, facts[1], dest, "index")

"""python-build-standalone releases' ``SHA256SUMS``: which archives a release holds.

``pyv update`` and ``scripts/generate_catalog.py`` both read releases through
:func:`downloads_from_sha256sums`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pyv.acquire.catalog.model import Download, cached_version, catalog_order, make_download
from pyv.core.settings import PBS_DOWNLOAD_PREFIX

_PBS_NAME_RE = re.compile(
    r"""
    cpython-(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)
    \+(?P<tag>\d+)
    -(?P<arch>[a-z0-9_]+)
    -(?:
        apple-(?P<darwin>darwin)
      | pc-(?P<windows>windows)-msvc(?P<shared>-shared)?
      | unknown-(?P<linux>linux)-(?P<libc>gnu|gnueabi|gnueabihf|musl)
    )
    -(?P<flavour>[a-z0-9_+-]+?)
    \.(?P<ext>tar\.gz|tar\.zst)
    """,
    re.VERBOSE,
)
_INSTALL_ONLY_RE = re.compile(r"(?:(?P<ft>freethreaded)-)?install_only(?P<stripped>_stripped)?")
_FULL_RE = re.compile(r"(?P<options>[a-z+]+)-full")
#: Full-archive build options, best first (uv's preference).
_FULL_OPTIONS = ("pgo+lto", "pgo", "lto", "noopt")
_PBS_ARCHES = {"ppc64le": "powerpc64le", "amd64": "x86_64", "arm64": "aarch64"}


def _pbs_flavour(flavour: str) -> tuple[str | None, int] | None:
    """(variant, rank) for an archive flavour; lower ranks are preferred; None = skip.

    install_only_stripped (0) > install_only (1) > full pgo+lto (2) > pgo > lto > noopt;
    debug variants only come as full archives.
    """
    match = _INSTALL_ONLY_RE.fullmatch(flavour)
    if match:
        variant = "freethreaded" if match.group("ft") else None
        return variant, (0 if match.group("stripped") else 1)
    match = _FULL_RE.fullmatch(flavour)
    if not match:
        return None
    options = match.group("options").split("+")
    freethreaded = "freethreaded" in options
    debug = "debug" in options
    rest = "+".join(o for o in options if o not in ("freethreaded", "debug"))
    if debug:
        if rest:
            return None
        return ("freethreaded+debug" if freethreaded else "debug"), 2
    if rest not in _FULL_OPTIONS:
        return None
    return ("freethreaded" if freethreaded else None), 2 + _FULL_OPTIONS.index(rest)


def download_from_pbs_filename(
    filename: str, sha256: str | None, tag: str, base_url: str = PBS_DOWNLOAD_PREFIX
) -> tuple[Download, int] | None:
    """Describe one python-build-standalone archive by its file name, with its
    flavour rank (lower is preferred); None if it is not an archive pyv installs."""
    match = _PBS_NAME_RE.fullmatch(filename)
    if not match:
        return None
    flavour = _pbs_flavour(match.group("flavour"))
    if flavour is None:
        return None
    variant, rank = flavour
    try:
        version = cached_version(match.group("version"))
    except ValueError:  # e.g. more digits than int() takes
        return None
    arch = match.group("arch")
    arch_variant = None
    level = re.fullmatch(r"x86_64_(v[2-4])", arch)
    if level:
        arch, arch_variant = "x86_64", level.group(1)
    arch = _PBS_ARCHES.get(arch, arch)
    if match.group("darwin"):
        os_name, libc = "darwin", "none"
    elif match.group("windows"):
        os_name, libc = "windows", "none"
    else:
        os_name, libc = "linux", match.group("libc")
    pre = version.pre
    url = f"{base_url.rstrip('/')}/{tag}/{filename.replace('+', '%2B')}"
    try:
        # The same field checks as every catalog entry: a release file is input too.
        download = make_download({
            "implementation": "cpython",
            "major": version.release[0],
            "minor": version.release[1],
            "patch": version.release[2],
            "prerelease": f"{pre[0]}{pre[1]}" if pre else "",
            "variant": variant,
            "os": os_name,
            "arch": arch,
            "arch_variant": arch_variant,
            "libc": libc,
            "build": match.group("tag"),
            "url": url,
            "sha256": sha256.lower() if sha256 else None,
        })
    except ValueError:
        return None
    # A "-shared" Windows triple is the older spelling of the same build; prefer the plain one.
    return download, rank * 2 + (1 if match.group("shared") else 0)


def downloads_from_sha256sums(
    text: str, tag: str, base_url: str = PBS_DOWNLOAD_PREFIX
) -> list[Download]:
    """The downloads a python-build-standalone release's ``SHA256SUMS`` describes.

    Lines are ``<sha256>  <file name>``. For each (version, platform, variant) the
    archive uv would pick is kept: install_only_stripped, else install_only, else
    the full archive (pgo+lto > pgo > lto > noopt); debug variants only as full
    archives. URLs are ``{base_url}/{tag}/{file name}``.
    """
    best: dict[str, tuple[int, Download]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            continue
        sha, name = parts[0], parts[1].lstrip("*")  # "*" marks binary mode in sha256sum output
        described = download_from_pbs_filename(name, sha, tag, base_url)
        if described is None:
            continue
        download, rank = described
        current = best.get(download.key)
        if current is None or rank < current[0]:
            best[download.key] = (rank, download)
    return sorted((d for _, d in best.values()), key=catalog_order)


def merge_downloads(*groups: Iterable[Download]) -> list[Download]:
    """Combine download lists; where several share a key the newest build wins."""
    best: dict[str, Download] = {}
    for group in groups:
        for d in group:
            current = best.get(d.key)
            if current is None or d.build > current.build:
                best[d.key] = d
    return sorted(best.values(), key=catalog_order)


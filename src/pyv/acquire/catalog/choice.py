"""Choosing builds: which downloads satisfy a request on a host, best first."""

from __future__ import annotations

from typing import Any, Callable

from packaging.version import Version

from pyv.acquire.catalog.model import ARCH_VARIANTS, Catalog, Download, cached_version
from pyv.core.errors import NotFound, PlatformError
from pyv.core.platform import Host, check_runs_on, glibc_floor
from pyv.core.requests import IMPLEMENTATIONS, PythonRequest, parse_request, request_text


def _host_levels(host: Host) -> int:
    return (host.x86_64_level or 1) if host.arch == "x86_64" else 1


def _explicit_level(request: PythonRequest, arch_variant: str) -> str | None:
    """The x86-64 level the user insisted on (a key's ``_vN`` or ``--arch vN``)."""
    if request.arch_variant:
        return request.arch_variant
    if arch_variant in ("v2", "v3", "v4"):
        return arch_variant
    return None


def _allowed_levels(
    request: PythonRequest, host: Host, arch_variant: str, all_platforms: bool
) -> frozenset[str | None]:
    if request.arch_variant:
        return frozenset({request.arch_variant})
    if request.kind == "key" and request.arch is not None:
        # A key naming the plain arch names the baseline build.
        return frozenset({None})
    if arch_variant in ("", "v1"):
        return frozenset(ARCH_VARIANTS) if all_platforms else frozenset({None})
    if arch_variant == "auto":
        top = 4 if all_platforms else _host_levels(host)
    else:
        top = int(arch_variant[1:])
    return frozenset({None, *(f"v{n}" for n in range(2, top + 1))})


def _runs_on(d: Download, host: Host, *, check_glibc: bool = True) -> bool:
    return runs_on(d.os, d.arch, d.arch_variant, d.libc, host, check_glibc=check_glibc)


def runs_on(
    os: str, arch: str, arch_variant: str | None, libc: str, host: Host, *,
    check_glibc: bool = True,
) -> bool:
    """Whether a build for this platform runs on ``host``."""
    if os != host.os or arch != host.arch:
        return False
    if os == "linux":
        if libc != host.libc:
            return False
        if (
            check_glibc
            and libc.startswith("gnu")
            and host.glibc is not None
            and host.glibc < glibc_floor(arch)
        ):
            return False
    level = int(arch_variant[1:]) if arch_variant else 1
    return not (arch_variant and level > (host.x86_64_level or 1))


#: ``(os, arch, arch_variant, libc) -> bool``: whether a platform's builds are wanted.
PlatformFilter = Callable[[str, str, "str | None", str], bool]
#: ``(implementation, version text, variant) -> bool``: whether a version is wanted.
VersionFilter = Callable[[str, str, "str | None"], bool]


def platform_filter(
    request: PythonRequest, host: Host, arch_variant: str, all_platforms: bool,
    check_glibc: bool = True,
) -> PlatformFilter:
    """The platform half of matching a request (memoised: a catalog has few platforms)."""
    levels = _allowed_levels(request, host, arch_variant, all_platforms)
    memo: dict[tuple[str, str, str | None, str], bool] = {}

    def wanted(os: str, arch: str, av: str | None, libc: str) -> bool:
        platform = (os, arch, av, libc)
        ok = memo.get(platform)
        if ok is None:
            ok = memo[platform] = (
                av in levels
                and request.os in (None, os)
                and request.arch in (None, arch)
                and request.libc in (None, libc)
                and (all_platforms or runs_on(os, arch, av, libc, host, check_glibc=check_glibc))
            )
        return ok

    return wanted


def version_filter(request: PythonRequest) -> VersionFilter:
    """The version half of matching a request (memoised: versions repeat across platforms)."""
    memo: dict[tuple[str, str, str | None], bool] = {}

    def wanted(implementation: str, version: str, variant: str | None) -> bool:
        key = (implementation, version, variant)
        ok = memo.get(key)
        if ok is None:
            ok = memo[key] = request.matches(implementation, cached_version(version), variant)
        return ok

    return wanted


def _filter(
    catalog: Catalog,
    request: PythonRequest,
    host: Host,
    arch_variant: str,
    all_platforms: bool,
    check_glibc: bool = True,
) -> list[Download]:
    if not request.is_download_request:
        return []
    platform_ok = platform_filter(request, host, arch_variant, all_platforms, check_glibc)
    version_ok = version_filter(request)
    return [
        d for d in catalog.downloads
        if platform_ok(d.os, d.arch, d.arch_variant, d.libc)
        and version_ok(d.implementation, d.version_str, d.variant)
    ]


def _rank_key(request: PythonRequest) -> Any:
    demote_pre = not request.allows_prereleases
    prefer_cpython = request.implementation is None

    def key(d: Download) -> tuple[Any, ...]:
        major, minor, patch, pre_kind, pre_number = d._rank()
        return (
            IMPLEMENTATIONS.index(d.implementation) if prefer_cpython else 0,
            1 if (demote_pre and d.prerelease) else 0,
            -major, -minor, -patch, -pre_kind, -pre_number,
            -d.level,
        )

    return key


def matching_downloads(
    catalog: Catalog,
    request: PythonRequest,
    host: Host,
    *,
    arch_variant: str = "",
    all_platforms: bool = False,
) -> list[Download]:
    """The downloads satisfying ``request`` that run on ``host``, best first.

    Best first means: CPython before other implementations unless the request
    names one; final releases before pre-releases unless the request asks for a
    pre-release; newest version; highest allowed x86-64 level; newest build.
    x86-64 levels above baseline are included only when asked for (a key's
    ``_vN``, or ``arch_variant`` ``"v2"``-``"v4"``, or ``"auto"`` = the host's
    level); with ``all_platforms`` the host is not consulted at all.
    """
    found = _filter(catalog, request, host, arch_variant, all_platforms)
    found.sort(key=lambda d: d.build, reverse=True)
    found.sort(key=_rank_key(request))
    return found


def best_download(
    catalog: Catalog, request: PythonRequest, host: Host, *, arch_variant: str = ""
) -> Download:
    """The download to install for ``request`` on ``host``.

    Raises :class:`PlatformError` when the request can only be met by a build
    this host cannot run, :class:`NotFound` (naming the nearest versions) otherwise.
    """
    if not request.is_download_request:
        raise NotFound(
            f"{request.raw!r} names an interpreter, not a version to download",
            "ask for a version such as 3.12",
        )
    level = _explicit_level(request, arch_variant)
    if level and host.arch == "x86_64" and request.arch in (None, "x86_64"):
        # An explicit level above the CPU's is an error, not a silent downgrade.
        check_runs_on(host, os=host.os, arch="x86_64", libc=host.libc, arch_variant=level,
                      what=f"request {request.raw!r}")
    found = matching_downloads(catalog, request, host, arch_variant=arch_variant)
    if found:
        return found[0]
    _raise_platform_error(catalog, request, host, arch_variant)
    raise NotFound(
        f"no build matches {request.raw} for {host.key}{_nearest_text(catalog, request, host)}",
        "see `pyv list` for what is available, or run `pyv update` to refresh the catalog",
    )


def newer_patch(catalog: Catalog, minor_key: str, version: Version,
                host: Host) -> Download | None:
    """The newest build of an installed minor (``minor_key``, now at ``version``) when it is
    newer: what ``pyv upgrade`` installs and ``pyv outdated`` lists. A pre-release is
    offered only to a pre-release."""
    candidates = [
        # The key names the platform: the build it was installed for, whatever runs here.
        d for d in matching_downloads(catalog, parse_request(minor_key), host,
                                      all_platforms=True)
        if d.minor_key == minor_key and (not d.version.is_prerelease or version.is_prerelease)
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda d: d.version)
    return best if best.version > version else None


def _raise_platform_error(
    catalog: Catalog, request: PythonRequest, host: Host, arch_variant: str
) -> None:
    """Raise PlatformError if the request is met by builds this host cannot run."""
    what = f"request {request.raw!r}"
    if request.os or request.arch or request.libc:
        check_runs_on(
            host,
            os=request.os or host.os,
            arch=request.arch or host.arch,
            libc=request.libc or host.libc,
            arch_variant=None,
            what=what,
        )
    blocked = _filter(catalog, request, host, arch_variant, False, check_glibc=False)
    if blocked:
        d = blocked[0]
        check_runs_on(host, os=d.os, arch=d.arch, libc=d.libc, arch_variant=d.arch_variant,
                      what=f"{what} ({d.key})")
        raise PlatformError(f"{what}: no build for {host.describe()} can run here")


def _reference_version(request: PythonRequest) -> Version | None:
    if request.version_text is not None:
        return Version(request.version_text)
    for spec in request.specifier or ():
        try:
            return Version(spec.version.replace(".*", ""))
        except ValueError:
            continue
    return None


def _nearest_text(catalog: Catalog, request: PythonRequest, host: Host) -> str:
    """``"; nearest: 3.8.20, 3.9.24"``: the newest patch of the closest minor series."""
    runnable = [
        d for d in catalog.downloads
        if d.arch_variant is None
        and d.variant == request.variant
        and (request.implementation is None or d.implementation == request.implementation)
        and _runs_on(d, host)
    ]
    if not runnable:
        return "; this platform has no builds in the catalog"
    stable = [d for d in runnable if not d.prerelease] or runnable
    newest: dict[tuple[int, int], Version] = {}
    for d in stable:
        if d.version > newest.get((d.major, d.minor), Version("0")):
            newest[(d.major, d.minor)] = d.version
    ordered = sorted(newest.values())
    reference = _reference_version(request)
    if reference is None:
        picks = ordered[-3:]
    else:
        below = [v for v in ordered if v < reference]
        above = [v for v in ordered if v > reference]
        picks = below[-1:] + above[:1]
    # Written as requests that ask for these builds (pasted into `pyv install`, they do).
    shown = [request_text(request.implementation, str(v), request.variant) for v in picks]
    return "; nearest: " + ", ".join(shown) if shown else ""


"""``pyv list``'s view of the catalog: the offers for a request, read from the rows.

``pyv list --all-platforms --all-versions`` prints thousands of builds. Building
a :class:`~pyv.catalog.model.Download` per build and ranking them dominated its
time, so this works on the compact file's rows (:class:`~pyv.catalog.compact.Rows`,
string tables shared by all rows) with the same predicates as build choice
(:func:`~pyv.catalog.choice.platform_filter`, :func:`~pyv.catalog.choice.version_filter`),
evaluated once per distinct platform and version rather than once per row.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pyv.catalog.choice import platform_filter, version_filter
from pyv.catalog.compact import Rows
from pyv.catalog.loading import load_rows
from pyv.catalog.model import format_key, version_rank
from pyv.platform import Host
from pyv.requests import ListOrder, PythonRequest, list_order
from pyv.settings import Settings


class Offer(NamedTuple):
    """One downloadable build as ``pyv list`` shows it.

    A NamedTuple rather than a frozen dataclass: thousands are made per listing,
    and a tuple is several times cheaper to build.
    """

    key: str
    version: str
    implementation: str
    url: str
    sha256: str | None
    build: str
    order: ListOrder


def offers(
    settings: Settings,
    request: PythonRequest,
    host: Host,
    *,
    all_versions: bool,
    all_platforms: bool,
) -> tuple[list[Offer], Rows]:
    """The builds ``pyv list REQUEST`` offers, in listing order, and the catalog read.

    The builds are those :func:`~pyv.catalog.choice.matching_downloads` returns;
    without ``all_versions`` only the best of each minor version and platform; for
    ``any`` pre-releases only where that minor has no final release yet, as uv does.
    """
    rows = load_rows(settings)
    if not request.is_download_request:
        return [], rows
    matched = _matching(rows, request, host, settings.arch_variant, all_platforms)
    if request.kind == "any":
        stable = {(m[0], m[1], m[2]) for m in matched if not m[4]}
        matched = [m for m in matched if not m[4] or (m[0], m[1], m[2]) not in stable]
    if not all_versions:
        matched = _best_per_minor(matched, demote_pre=not request.allows_prereleases)
    result = []
    for impl, major, minor, patch, pre, variant, os, arch, av, libc, build, url, sha in matched:
        version = f"{major}.{minor}.{patch}{pre}"
        key = format_key(impl, version, variant, os, arch, av, libc)
        order = list_order(impl, major, minor, patch, pre, key)
        result.append(Offer(key, version, impl, url, sha, build, order))
    result.sort(key=lambda offer: offer.order)
    return result, rows


#: A row with its table indexes resolved (the Download fields, in their order).
_Fields = tuple[str, int, int, int, str, "str | None", str, str, "str | None", str, str, str,
                "str | None"]


def _matching(
    rows: Rows, request: PythonRequest, host: Host, arch_variant: str, all_platforms: bool
) -> list[_Fields]:
    tables = rows.tables
    impls, variants, prefixes = tables["implementation"], tables["variant"], tables["prefix"]
    oses, arches, levels, libcs = (
        tables["os"], tables["arch"], tables["arch_variant"], tables["libc"]
    )
    platform_ok = platform_filter(request, host, arch_variant, all_platforms)
    version_ok = version_filter(request)
    platforms: dict[tuple[int, int, int, int], bool] = {}
    matched: list[_Fields] = []
    for impl_i, major, minor, patch, pre, var_i, os_i, arch_i, av_i, libc_i, build, px, rest, sha \
            in rows.rows:
        platform = (os_i, arch_i, av_i, libc_i)
        ok = platforms.get(platform)
        if ok is None:
            ok = platforms[platform] = platform_ok(
                oses[os_i], arches[arch_i], levels[av_i], libcs[libc_i]
            )
        if not ok:
            continue
        impl, variant = impls[impl_i], variants[var_i]
        if version_ok(impl, f"{major}.{minor}.{patch}{pre}", variant):
            matched.append((impl, major, minor, patch, pre, variant, oses[os_i], arches[arch_i],
                            levels[av_i], libcs[libc_i], build, prefixes[px] + rest, sha))
    return matched


def _best_per_minor(matched: list[_Fields], *, demote_pre: bool) -> list[_Fields]:
    """The best build of each minor version and platform (as build choice ranks them)."""
    best: dict[tuple[Any, ...], tuple[tuple[int, ...], _Fields]] = {}
    for fields in matched:
        impl, major, minor, patch, pre, variant, os, arch, av, libc, build = fields[:11]
        minor_key = (impl, major, minor, variant, os, arch, av, libc)
        rank = (1 if (demote_pre and pre) else 0, *(-n for n in version_rank(0, 0, patch, pre)))
        current = best.get(minor_key)
        # Lower rank first; on a tie the newest build.
        if current is None or rank < current[0] or (rank == current[0] and build > current[1][10]):
            best[minor_key] = (rank, fields)
    return [fields for _, fields in best.values()]

"""``pyv list``'s view of the catalog: the offers for a request, read from the rows.

``pyv list --all-platforms --all-versions`` prints thousands of builds. Building
a :class:`~pyv.acquire.catalog.model.Download` per build and ranking them dominated its
time, so this works on the compact file's rows (:class:`~pyv.acquire.catalog.compact.Rows`,
string tables shared by all rows) with the same predicates as build choice
(:func:`~pyv.acquire.catalog.choice.platform_filter`, :func:`~pyv.acquire.catalog.choice.version_filter`),
evaluated once per distinct platform and version rather than once per row.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pyv.acquire.catalog.choice import platform_filter, version_filter
from pyv.acquire.catalog.compact import Rows
from pyv.acquire.catalog.loading import load_rows
from pyv.acquire.catalog.model import key_head, key_tail, version_rank
from pyv.core.platform import Host
from pyv.core.requests import ListOrder, PythonRequest, list_order
from pyv.core.settings import Settings


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

    The builds are those :func:`~pyv.acquire.catalog.choice.matching_downloads` returns;
    without ``all_versions`` only the best of each minor version and platform; for
    ``any`` pre-releases only where that minor has no final release yet, as uv does.
    """
    rows = load_rows(settings)
    if not request.is_download_request:
        return [], rows
    matched = _matching(rows, request, host, settings.arch_variant, all_platforms)
    if request.kind == "any":
        stable = {(r[0], r[1], r[2]) for r, _, _ in matched if not r[4]}
        matched = [m for m in matched if not m[0][4] or (m[0][0], m[0][1], m[0][2]) not in stable]
    if not all_versions:
        matched = _best_per_minor(matched, demote_pre=not request.allows_prereleases)
    tables = rows.tables
    impls, prefixes = tables["implementation"], tables["prefix"]
    result = [
        Offer(key, version, impls[row[0]], prefixes[row[11]] + row[12], row[13], row[10],
              list_order(impls[row[0]], row[1], row[2], row[3], row[4], key))
        for row, version, key in matched
    ]
    result.sort(key=lambda offer: offer.order)
    return result, rows


#: A matching row, its version text and its key.
_Match = tuple[list[Any], str, str]


def _matching(
    rows: Rows, request: PythonRequest, host: Host, arch_variant: str, all_platforms: bool
) -> list[_Match]:
    """The rows the request matches. The predicates run once per distinct platform and
    version, and the key is put together from halves made once each."""
    tables = rows.tables
    impls, variants = tables["implementation"], tables["variant"]
    oses, arches, levels, libcs = (
        tables["os"], tables["arch"], tables["arch_variant"], tables["libc"]
    )
    platform_ok = platform_filter(request, host, arch_variant, all_platforms)
    version_ok = version_filter(request)
    tails: dict[tuple[int, int, int, int], str | None] = {}
    heads: dict[tuple[int, int, int, int, str, int], tuple[str, str] | None] = {}
    matched: list[_Match] = []
    for row in rows.rows:
        platform = (row[6], row[7], row[8], row[9])
        tail = tails.get(platform, "")
        if tail == "":
            os, arch, av, libc = oses[row[6]], arches[row[7]], levels[row[8]], libcs[row[9]]
            tail = tails[platform] = (
                key_tail(os, arch, av, libc) if platform_ok(os, arch, av, libc) else None
            )
        if tail is None:
            continue
        release = (row[0], row[1], row[2], row[3], row[4], row[5])
        head = heads.get(release, ("", ""))
        if head == ("", ""):
            impl, variant = impls[row[0]], variants[row[5]]
            version = f"{row[1]}.{row[2]}.{row[3]}{row[4]}"
            head = heads[release] = (
                (key_head(impl, version, variant), version)
                if version_ok(impl, version, variant) else None
            )
        if head is not None:
            matched.append((row, head[1], head[0] + tail))
    return matched


def _best_per_minor(matched: list[_Match], *, demote_pre: bool) -> list[_Match]:
    """The best build of each minor version and platform (as build choice ranks them)."""
    best: dict[tuple[Any, ...], tuple[tuple[int, ...], _Match]] = {}
    for match in matched:
        row = match[0]
        patch, pre, build = row[3], row[4], row[10]
        minor_key = (row[0], row[1], row[2], row[5], row[6], row[7], row[8], row[9])
        rank = (1 if (demote_pre and pre) else 0, *(-n for n in version_rank(0, 0, patch, pre)))
        current = best.get(minor_key)
        if current is None:
            best[minor_key] = (rank, match)
        elif rank < current[0] or (rank == current[0] and build > current[1][0][10]):
            best[minor_key] = (rank, match)  # lower rank first; on a tie the newest build
    return [match for _, match in best.values()]

"""Uninstall: remove what requests name from a store, refused while environments use it.

Like the installer it knows neither shims nor environments: the caller hands it the
:class:`~pyv.acquire.installer.ShimIndex` to refresh and the "environments use this" guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.acquire.installer import InstallOptions, InUseGuard, ShimIndex, target_store
from pyv.acquire.store import Installation
from pyv.core.errors import InUse, NotFound

if TYPE_CHECKING:
    from pyv.core.settings import Settings


def uninstall(
    settings: Settings,
    request_texts: Sequence[str],
    *,
    shims: ShimIndex,
    in_use: InUseGuard,
    force: bool = False,
    store_dir: Path | None = None,
) -> list[Installation]:
    """Remove the installations the requests name (all matches of each request).

    Without ``force``, refused while ``in_use`` names something that uses one.
    """
    from pyv.acquire.store import installation_matches
    from pyv.core.requests import parse_request

    store = target_store(settings, InstallOptions(store=store_dir))
    # Refused before anything else: a store the user cannot write is named as such even
    # when the version is not in it.
    store.check_writable()
    # Matched in the target store itself: `--store DIR` need not be among the read stores.
    installed = store.installations()
    targets: list[Installation] = []
    for text in request_texts:
        request = parse_request(text)
        matches = [
            i
            for i in installed
            if request.kind not in ("path", "system", "name") and installation_matches(request, i)
        ]
        if not request.allows_prereleases:
            matches = [i for i in matches if not i.version.is_prerelease] or matches
        if request.kind != "key" and matches and not _names_patch(text):
            # "3.12" removes the newest matching patch only, as pyenv/uv do for one request.
            matches = matches[:1]
        if not matches:
            raise NotFound(
                f"no installed Python matches {text!r} in {store.root}",
                "see `pyv list --installed`",
            )
        for inst in matches:
            if inst not in targets:
                targets.append(inst)
    if not force:
        _refuse_if_used(targets, in_use)
    for inst in targets:
        with store.key_lock(settings, inst.key), store.lock(settings):
            store.unpublish(inst.key)
            store.sync_minor_links()
    shims.refresh()
    return targets


def _names_patch(text: str) -> bool:
    return text.count(".") >= 2


def _refuse_if_used(targets: Sequence[Installation], in_use: InUseGuard) -> None:
    users: list[str] = []
    for inst in targets:
        for user in in_use(inst):
            users.append(f"{user} ({inst.key})")
    if users:
        raise InUse(
            f"environments use this interpreter: {', '.join(users)}",
            "remove them first, or pass --force",
        )

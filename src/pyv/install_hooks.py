"""What the installer's callers hand it: the shim index and the "in use" guard.

The installer imports neither :mod:`pyv.shims` nor :mod:`pyv.venv` (that made an
import circle); every caller of :func:`pyv.installer.install`, ``uninstall`` and
``upgrade`` passes these real implementations instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyv.installer import InUseGuard
    from pyv.settings import Settings
    from pyv.store import Installation


class ShimUpdates:
    """:class:`pyv.installer.ShimIndex` through :func:`pyv.shims.rehash`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def prepare(self, installation: Installation, staged_bin: Path) -> bool:
        from pyv.shims import Pending, rehash

        rehash(self.settings, Pending(installation, staged_bin))
        return True

    def rollback(self) -> None:
        self.refresh()

    def commit(self, installations: Sequence[Installation]) -> None:
        from pyv.shims import indexed

        # A prepare made them while the smoke test ran; redo them only if a rehash since
        # undid that, or something (a killed pyv, a stray file) left them wrong.
        if not indexed(self.settings, installations):
            self.refresh()

    def refresh(self) -> None:
        from pyv.shims import rehash

        rehash(self.settings)


def environments_guard(settings: Settings) -> InUseGuard:
    """``in_use`` for uninstall: the environments whose interpreter lives in an installation."""
    from pyv.venv.manage import environments_using

    def in_use(installation: Installation) -> list[str]:
        return [str(env) for env in environments_using(settings, installation.path)]

    return in_use

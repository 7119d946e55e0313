"""Consent for version files whose path entries run a program from their own tree.

A ``.python-version`` is data that comes with a repository; a path entry in it
(``./tools/python``) would make every ``python`` typed there run a file that
repository ships. Such a file is used only once the user ran ``pyv trust``,
which records the file's absolute path with the sha256 of its content in
``$PYV_HOME/trusted``; any change to the content needs a new ``pyv trust``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pyv.core.errors import PyvError

if TYPE_CHECKING:
    from pyv.core.settings import Settings

TRUSTED = "trusted"
#: Under the index, one mark per trusted version file that names project environments,
#: at the file's own absolute path (``index/.projects/home/me/proj/.python-version``):
#: the environments the file names, one per line, dated exactly as the file was when
#: :mod:`pyv.choose.selection` judged it. A shim runs such an environment only when the mark
#: lists it and the file still has that date; anything else goes to pyv.
PROJECTS = ".projects"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _records(settings: Settings) -> dict[str, str]:
    """Trusted file path -> sha256 of the content that was trusted."""
    try:
        text = (settings.home / TRUSTED).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    result: dict[str, str] = {}
    for line in text.splitlines():
        sha, sep, path = line.partition(" ")
        if sep and len(sha) == 64:
            result[path] = sha
    return result


def _key(path: Path) -> str:
    return os.path.abspath(path)


def trusted_files(settings: Settings) -> list[Path]:
    """Every version file the user trusted (whatever its content is now)."""
    return [Path(name) for name in sorted(_records(settings))]


def is_trusted(settings: Settings, path: Path, data: bytes) -> bool:
    """Whether the user trusted this version file with exactly this content."""
    return _records(settings).get(_key(path)) == digest(data)


def set_trusted(settings: Settings, path: Path, data: bytes | None) -> None:
    """Record (``data``) or forget (``None``) the user's trust in one version file."""
    from pyv.core.fsutil import atomic_write

    records = _records(settings)
    if data is None:
        records.pop(_key(path), None)
    else:
        records[_key(path)] = digest(data)
    text = "".join(f"{sha} {name}\n" for name, sha in sorted(records.items()))
    atomic_write(settings.home / TRUSTED, text, what="the list of trusted version files")


# ----- what the shims read of it --------------------------------------------------------
def project_mark(settings: Settings, version_file: Path) -> Path:
    return Path(str(settings.index_dir / PROJECTS) + os.path.abspath(version_file))


def mark_project(settings: Settings, version_file: Path, mtime_ns: int,
                 environments: Sequence[Path]) -> None:
    """Let the shims run the environments a trusted version file names, as long as the file
    keeps the date it had when it was judged. A mark that cannot be written only costs
    speed (the shims ask pyv), so failures are silent."""
    if not environments:
        return
    mark = project_mark(settings, version_file)
    text = "".join(f"{os.path.abspath(env)}\n" for env in environments)
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if os.stat(mark).st_mtime_ns == mtime_ns and mark.read_text(encoding="utf-8") == text:
            return
    from pyv.core.fsutil import atomic_write

    with contextlib.suppress(OSError, PyvError):
        atomic_write(mark, text, what="a mark for the shims")
        os.utime(mark, ns=(mtime_ns, mtime_ns))


def unmark_project(settings: Settings, version_file: Path) -> None:
    """The shims stop running the environments of a version file no longer trusted."""
    with contextlib.suppress(OSError):
        project_mark(settings, version_file).unlink()

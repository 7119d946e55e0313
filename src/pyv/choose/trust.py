"""Consent for version files whose path entries run a program from their own tree.

A ``.python-version`` is data that comes with a repository; a path entry in it
(``./tools/python``) would make every ``python`` typed there run a file that
repository ships. Such a file is used only once the user ran ``pyv trust``,
which records the file's absolute path with the sha256 of its content in
``$PYV_HOME/trusted``; any change to the content needs a new ``pyv trust``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyv.core.settings import Settings

TRUSTED = "trusted"


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

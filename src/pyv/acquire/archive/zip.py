"""Extracting zip archives (spooled first: a zip keeps its directory at the end)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from pyv.acquire.archive.extractor import Extractor
from pyv.acquire.archive.safety import DIR, SYMLINK, UnsafeMember, check_kind, zip_kind
from pyv.acquire.archive.stream import COPY_CHUNK, Corrupt
from pyv.acquire.archive.writers import write_all
from pyv.core.errors import ArchiveError

_MAX_LINK_TARGET = 4096  # PATH_MAX on Linux

def extract_zip(stream: BinaryIO, dest: Path, ex: Extractor) -> None:
    # zip keeps its directory at the end: spool the stream next to dest first.
    spool_dir = os.path.dirname(os.path.abspath(dest))
    with tempfile.TemporaryFile(dir=spool_dir, prefix=".pyv-zip-") as spool:
        shutil.copyfileobj(stream, spool, COPY_CHUNK)
        spool.seek(0)
        try:
            with zipfile.ZipFile(spool) as zf:
                for info in zf.infolist():
                    _zip_member(zf, info, ex)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise Corrupt(str(exc)) from None
        except NotImplementedError as exc:
            raise ArchiveError(
                f"cannot read {ex.label}: {exc}", "this zip compression method is not supported"
            ) from None


def _zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, ex: Extractor) -> None:
    name = info.filename
    kind, mode = zip_kind(info.external_attr, info.create_system, info.is_dir())
    check_kind(name, kind)
    rel = ex.relative(name)
    if rel is None:
        return
    mtime = time.mktime((*info.date_time, 0, 0, -1))
    if kind == DIR:
        ex.add_dir(name, rel, mtime)
    elif kind == SYMLINK:
        ex.add_symlink(name, rel, read_link_target(zf, info), mtime)
    else:

        def copy(fd: int) -> int:
            total = 0
            with zf.open(info) as src:
                while True:
                    data = src.read(COPY_CHUNK)
                    if not data:
                        return total
                    write_all(fd, data)
                    total += len(data)

        ex.add_file(name, rel, mode, mtime, info.file_size, copy)


def read_link_target(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    """A zip symlink's target (its data); a target longer than a path can be is refused
    before it is inflated."""
    if info.file_size > _MAX_LINK_TARGET:
        raise UnsafeMember(info.filename, "is a symlink whose target is longer than any path")
    return zf.read(info).decode("utf-8", "surrogateescape")

"""Extracting zip archives (spooled first: a zip keeps its directory at the end)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from pyv.archive.extractor import Extractor
from pyv.archive.stream import COPY_CHUNK, Corrupt
from pyv.archive.writers import write_all
from pyv.errors import ArchiveError


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
    mode = info.external_attr >> 16 if info.create_system == 3 else 0  # 3: made on Unix
    kind = stat.S_IFMT(mode)
    if kind in (stat.S_IFCHR, stat.S_IFBLK):
        raise ex.refuse(name, "is a device file")
    if kind in (stat.S_IFIFO, stat.S_IFSOCK):
        raise ex.refuse(name, "is a fifo or socket")
    rel = ex.relative(name)
    if rel is None:
        return
    mtime = time.mktime((*info.date_time, 0, 0, -1))
    if info.is_dir() or kind == stat.S_IFDIR:
        ex.add_dir(name, rel, mtime)
    elif kind == stat.S_IFLNK:
        target = zf.read(info).decode("utf-8", "surrogateescape")
        ex.add_symlink(name, rel, target, mtime)
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

        ex.add_file(name, rel, mode & 0o777 if mode else 0o644, mtime, copy)

"""Safe, streaming extraction of interpreter archives.

The archive arrives as a sequential byte stream (possibly a download still in
progress). Tar formats are decoded chunk by chunk and every member is created
by this package itself — ``TarFile.extract*`` is never called — so the same
checks apply on every Python version. ``docs/security.md`` states the
guarantees.

The modules, in the order the bytes flow: :mod:`.stream` (chunks and the
forward-only reader), :mod:`.decompress` (gzip, bzip2, zstd), :mod:`.tar_headers`
(header decoding), :mod:`.tar` and :mod:`.zip` (members of each format),
:mod:`.extractor` (creating checked members) and :mod:`.writers` (the threads
that write approved files).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from pyv.acquire.archive.extractor import Extractor, ExtractStats
from pyv.acquire.archive.safety import DEFAULT_MAX_BYTES, UnsafeMember
from pyv.core.errors import ArchiveError, from_os_error

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "ExtractStats",
    "extract_archive",
]

FORMATS = ("tar.gz", "tar.zst", "tar.bz2", "tar", "zip")


def extract_archive(
    stream: BinaryIO,
    archive_format: str,
    dest: Path,
    *,
    root: str | None,
    name: str = "",
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    group: bool = False,
) -> ExtractStats:
    """Extract the ``root`` subtree of the archive read from ``stream`` into ``dest``.

    ``stream`` only needs ``read(n)``. ``root`` is the member directory that
    becomes ``dest`` (``"python"``, ``"python/install"``); members outside it
    are skipped. ``None`` strips the single top-level directory, whatever its
    name. On any error the caller is expected to discard ``dest``.

    At most ``max_bytes`` are written (apparent sizes; None: no bound). Files get
    0644 or 0755 and directories 0755 whatever the archive says (a umask may narrow
    these, never widen them); ``group`` (a group store) makes them 0664/0775 and 2775
    whatever the umask.
    """
    # The readers are imported here: pyv.acquire.archive.safety, which the wheel installer
    # uses, must not cost it the decompressors' and tarfile's imports.
    from pyv.acquire.archive.decompress import decoded_chunks
    from pyv.acquire.archive.stream import Corrupt
    from pyv.acquire.archive.tar import extract_tar
    from pyv.acquire.archive.zip import extract_zip

    label = name or "the archive"
    if archive_format not in FORMATS:
        raise ArchiveError(
            f"cannot read {label}: unsupported archive format {archive_format!r}",
            f"supported formats are {', '.join(FORMATS)}",
        )
    extractor: Extractor | None = None
    try:
        os.makedirs(dest, exist_ok=True)
        extractor = Extractor(dest, root, label, max_bytes=max_bytes, group=group)
        if archive_format == "zip":
            extract_zip(stream, dest, extractor)
        else:
            extract_tar(decoded_chunks(stream, archive_format, label), extractor)
        return extractor.finish()
    except UnsafeMember as exc:
        raise ArchiveError(
            f"refusing to extract {label}: {exc}",
            "nothing was installed; get the archive from a source you trust",
        ) from None
    except Corrupt as exc:
        raise ArchiveError(
            f"{label} is corrupt or truncated: {exc}",
            "nothing was installed; get the archive again (a network download that fails "
            "is deleted by pyv itself)",
        ) from None
    except OSError as exc:
        raise from_os_error(exc, f"extracting {label}") from None
    finally:
        if extractor is not None:
            # On an error, no writer may still be busy when the caller discards dest.
            extractor.writers.close()

"""Micro-benchmark: ``pyv.archive.extract_archive`` against ``tar xzf`` on one archive.

Usage: python bench/bench_extract.py ARCHIVE.tar.gz [--root python] [--runs 5]
Prints the best wall time of each and their ratio.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pyv.archive import extract_archive


class _ReadOnly:
    """Only ``read``: the shape of a download stream."""

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()

    def read(self, n: int = -1) -> bytes:
        return self._fh.read(n)

    def close(self) -> None:
        self._fh.close()


def _best(runs: int, fn: object) -> float:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="pyv-bench-") as tmp:
            dest = Path(tmp) / "out"
            dest.mkdir()
            start = time.perf_counter()
            fn(dest)  # type: ignore[operator]
            times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("archive", type=Path)
    parser.add_argument("--root", default="python")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    fmt = "tar.gz" if args.archive.name.endswith((".tar.gz", ".tgz")) else "tar"

    def pyv(dest: Path) -> None:
        stream = _ReadOnly(args.archive)
        try:
            extract_archive(stream, fmt, dest, root=args.root, name=args.archive.name)  # type: ignore[arg-type]
        finally:
            stream.close()

    tar_exe = shutil.which("tar")
    if tar_exe is None:
        raise SystemExit("tar not found")

    def tar(dest: Path) -> None:
        subprocess.run(
            [tar_exe, "xzf" if fmt == "tar.gz" else "xf", str(args.archive), "-C", str(dest)],
            check=True,
        )

    t_tar = _best(args.runs, tar)
    t_pyv = _best(args.runs, pyv)
    print(f"tar xzf: {t_tar:.3f} s")
    print(f"pyv:     {t_pyv:.3f} s")
    print(f"ratio:   {t_pyv / t_tar:.2f}")


if __name__ == "__main__":
    main()

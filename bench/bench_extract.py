"""Micro-benchmark of ``pyv.acquire.archive.extract_archive``.

Against tar (best of N)::

    python bench/bench_extract.py ARCHIVE.tar.gz [--root python] [--runs 5]

Interleaved A/B between revisions of ``src/pyv/acquire/archive/`` and/or writer-thread
settings (each round runs every variant once, starting with a different one)::

    python bench/bench_extract.py ARCHIVE.tar --rev HEAD~1 --rev WORKTREE \\
        [--threads 0 --threads 2] [--rounds 11] [--work /dev/shm]

``--rev`` is a git revision, or ``WORKTREE`` for the files as they are now; each
revision's ``pyv.acquire.archive`` package (or, before it was one, ``archive.py``) is
loaded under a name of its own (it imports nothing else from pyv that changes).
Prints each variant's median and minimum.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Callable

from pyv.acquire.archive import extract_archive

REPO = Path(__file__).resolve().parent.parent
# Where pyv.acquire.archive has lived: a package in its layer folder, a top-level package,
# and one archive.py before it became a package.
ARCHIVE_PKGS = ("src/pyv/acquire/archive", "src/pyv/archive")
ARCHIVE_PY = "src/pyv/archive.py"


class _ReadOnly:
    """Only ``read``: the shape of a download stream."""

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()

    def read(self, n: int = -1) -> bytes:
        return self._fh.read(n)

    def close(self) -> None:
        self._fh.close()


def _timed(fn: Callable[[Path], None], work: Path | None) -> float:
    tmp = tempfile.mkdtemp(prefix="pyv-bench-", dir=work)
    try:
        dest = Path(tmp) / "out"
        dest.mkdir()
        start = time.perf_counter()
        fn(dest)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(tmp)


def _best(runs: int, fn: Callable[[Path], None], work: Path | None) -> float:
    return min(_timed(fn, work) for _ in range(runs))


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                          check=True).stdout


def _sources(rev: str) -> dict[str, str]:
    """File name -> text of ``pyv.acquire.archive`` as of ``rev`` (one ``archive.py`` before
    the split)."""
    if rev == "WORKTREE":
        for pkg in ARCHIVE_PKGS:
            package = REPO / pkg
            if package.is_dir():
                return {p.name: p.read_text() for p in package.glob("*.py")}
        return {"archive.py": (REPO / ARCHIVE_PY).read_text()}
    for pkg in ARCHIVE_PKGS:
        if _git("ls-tree", rev, pkg).strip():
            names = [n for n in _git("ls-tree", "--name-only", f"{rev}:{pkg}").split()
                     if n.endswith(".py")]
            return {n: _git("show", f"{rev}:{pkg}/{n}") for n in names}
    return {"archive.py": _git("show", f"{rev}:{ARCHIVE_PY}")}


def _archive_module(rev: str, store: Path) -> ModuleType:
    """``pyv.acquire.archive`` as of ``rev``, loaded under a name of its own."""
    sources = _sources(rev)
    name = f"pyv_archive_{len(list(store.iterdir()))}"
    if list(sources) != ["archive.py"]:
        # A package: its modules import each other by its dotted name; give them its new one.
        package = store / name
        package.mkdir()
        for file_name, text in sources.items():
            text = text.replace("pyv.acquire.archive", name).replace("pyv.archive", name)
            (package / file_name).write_text(text)
        if str(store) not in sys.path:
            sys.path.insert(0, str(store))
        return importlib.import_module(name)
    path = store / f"{name}.py"
    path.write_text(sources["archive.py"])
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _extractor(
    module: ModuleType, threads: int | None, archive: Path, fmt: str, root: str
) -> Callable[[Path], None]:
    def run(dest: Path) -> None:
        if threads is not None:
            # The package keeps the setting in its writers module, archive.py in itself.
            setattr(getattr(module, "writers", module), "WRITER_THREADS", threads)  # noqa: B010
        stream = _ReadOnly(archive)
        try:
            module.extract_archive(stream, fmt, dest, root=root, name=archive.name)
        finally:
            stream.close()

    return run


def _ab(args: argparse.Namespace, fmt: str) -> None:
    revs: list[str] = args.rev
    thread_settings: list[int | None] = list(args.threads) if args.threads else [None]
    with tempfile.TemporaryDirectory(prefix="pyv-bench-src-") as store_dir:
        store = Path(store_dir)
        variants: list[tuple[str, Callable[[Path], None]]] = []
        for rev in revs:
            module = _archive_module(rev, store)
            for threads in thread_settings:
                label = rev if threads is None else f"{rev} threads={threads}"
                variants.append((label, _extractor(module, threads, args.archive, fmt, args.root)))
        for _, fn in variants:  # warm-up: page cache, imports, first-call costs
            _timed(fn, args.work)
        times: dict[str, list[float]] = {label: [] for label, _ in variants}
        for i in range(args.rounds):
            order = variants[i % len(variants) :] + variants[: i % len(variants)]
            for label, fn in order:
                times[label].append(_timed(fn, args.work))
    base = statistics.median(times[variants[0][0]])
    print(f"{args.rounds} interleaved rounds, {args.archive.name}, work dir {args.work or '(tmp)'}")
    for label, _ in variants:
        med = statistics.median(times[label])
        print(
            f"  {label:32} median {med:.4f} s  min {min(times[label]):.4f} s  "
            f"ratio {med / base:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("archive", type=Path)
    parser.add_argument("--root", default="python")
    parser.add_argument("--runs", type=int, default=5, help="runs of each, against tar")
    parser.add_argument("--rev", action="append", help="A/B: a git revision or WORKTREE")
    parser.add_argument("--threads", type=int, action="append", help="A/B: WRITER_THREADS")
    parser.add_argument("--rounds", type=int, default=11, help="A/B: interleaved rounds")
    parser.add_argument("--work", type=Path, default=None, help="where to extract")
    args = parser.parse_args()
    fmt = "tar.gz" if args.archive.name.endswith((".tar.gz", ".tgz")) else "tar"
    if args.rev or args.threads:
        if not args.rev:
            args.rev = ["WORKTREE"]
        _ab(args, fmt)
        return

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

    t_tar = _best(args.runs, tar, args.work)
    t_pyv = _best(args.runs, pyv, args.work)
    print(f"tar xzf: {t_tar:.3f} s")
    print(f"pyv:     {t_pyv:.3f} s")
    print(f"ratio:   {t_pyv / t_tar:.2f}")


if __name__ == "__main__":
    main()

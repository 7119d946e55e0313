#!/usr/bin/env python3
"""Generate the catalog that ships with pyv (``src/pyv/data/catalog.json``).

Inputs, merged (where several describe the same key, the newest build wins):

* a uv-schema downloads JSON (``--uv-json``; e.g. uv's ``download-metadata.json``);
* python-build-standalone releases' ``SHA256SUMS`` files, each with its release
  tag (``--sha256sums FILE --tag 20260814``, repeatable), parsed with
  :func:`pyv.acquire.catalog.downloads_from_sha256sums` exactly as ``pyv update`` does.

Entries pyv cannot install are left out: other operating systems (pyodide's
emscripten ``xbuildenv`` archives), unknown archive types, and entries without a
sha256 (pyv verifies every archive).

The output is the compact file (:mod:`pyv.acquire.catalog.compact`) in catalog order.
It is checked here, field by field, as it is read back: at run time pyv trusts
the catalog it ships and ``pyv list`` reads its rows as they are.

``--fixture-dir`` also writes a small SHA256SUMS fixture for the test suite: the
archives of one tag for a few platforms as the uv JSON lists them, plus the
less preferred flavours of the same builds (with made-up checksums) that the
parser must skip, and the uv entries the parser must reproduce.

Usage::

    python scripts/generate_catalog.py --uv-json python-downloads.json \\
        [--sha256sums SHA256SUMS --tag 20260814] [--output src/pyv/data/catalog.json] \\
        [--fixture-dir tests/data]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pyv.acquire.catalog import (  # noqa: E402
    Catalog,
    Download,
    download_from_pbs_filename,
    downloads_from_sha256sums,
    merge_downloads,
    now_iso,
    parse_uv_json,
    read_catalog_file,
    save_catalog,
    to_uv_json,
)
from pyv.core.settings import PBS_DOWNLOAD_PREFIX  # noqa: E402

DEFAULT_OUTPUT = ROOT / "src" / "pyv" / "data" / "catalog.json"
#: The no-Python bootstrap script whose build table is generated from the catalog.
INSTALL_SH = ROOT / "scripts" / "install.sh"
_TABLE_BEGIN = "# BEGIN BOOTSTRAP BUILDS\n"
_TABLE_END = "# END BOOTSTRAP BUILDS\n"
#: Platforms the SHA256SUMS fixture covers (PBS triples).
FIXTURE_TRIPLES = ("x86_64_v3-unknown-linux-gnu", "aarch64-apple-darwin", "x86_64-pc-windows-msvc")
#: How many minor versions (newest first) of the fixture tag to include.
FIXTURE_MINORS = 2


def _from_uv_json(path: Path) -> tuple[list[Download], int]:
    catalog = parse_uv_json(path.read_bytes(), str(path))
    entries = len(json.loads(path.read_bytes()))
    return [d for d in catalog.downloads if d.sha256], entries


def _distractors(d: Download) -> list[str]:
    """File names of the flavours uv does not pick when ``d``'s flavour exists."""
    name = d.filename
    if name.endswith("-install_only_stripped.tar.gz"):
        stem = name[: -len("install_only_stripped.tar.gz")]
        base = stem[: -len("freethreaded-")] if d.freethreaded else stem
        ft = "freethreaded+" if d.freethreaded else ""
        return [
            f"{stem}install_only.tar.gz",
            f"{base}{ft}pgo+lto-full.tar.zst",
            f"{base}{ft}lto-full.tar.zst",
            f"{base}{ft}noopt-full.tar.zst",
        ]
    if name.endswith("-pgo+lto-full.tar.zst"):
        stem = name[: -len("pgo+lto-full.tar.zst")]
        return [f"{stem}pgo-full.tar.zst", f"{stem}noopt-full.tar.zst"]
    return []


def write_fixture(downloads: list[Download], fixture_dir: Path) -> tuple[Path, Path]:
    """Write ``pbs-<tag>.sha256sums`` and ``pbs-<tag>.expected.json`` into ``fixture_dir``."""
    pbs = [d for d in downloads if d.implementation == "cpython" and d.build.isdigit()]
    tag = max(d.build for d in pbs)
    in_tag = [d for d in pbs if d.build == tag]
    minors = sorted({(d.major, d.minor) for d in in_tag}, reverse=True)[:FIXTURE_MINORS]
    chosen = [
        d for d in in_tag
        if (d.major, d.minor) in minors and any(f"-{t}-" in d.filename for t in FIXTURE_TRIPLES)
    ]
    lines = []
    for d in chosen:
        lines.append(f"{d.sha256}  {d.filename}")
        for extra in _distractors(d):
            fake = hashlib.sha256(extra.encode()).hexdigest()
            lines.append(f"{fake}  {extra}")
    # Also present in real SHA256SUMS files and to be ignored: non-archive names.
    lines.append(f"{hashlib.sha256(b'x').hexdigest()}  cpython-{tag}-manifest.json")
    lines.sort(key=lambda line: line.split()[1])
    fixture_dir.mkdir(parents=True, exist_ok=True)
    sums = fixture_dir / f"pbs-{tag}.sha256sums"
    expected = fixture_dir / f"pbs-{tag}.expected.json"
    sums.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected.write_text(json.dumps(to_uv_json(chosen), indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")
    # The fixture must agree with the parser it is meant to test.
    parsed = to_uv_json(downloads_from_sha256sums(sums.read_text(), tag))
    if parsed != to_uv_json(chosen):
        raise SystemExit("error: the SHA256SUMS parser disagrees with the uv JSON on the fixture")
    return sums, expected


def bootstrap_builds(downloads: list[Download]) -> list[Download]:
    """The interpreter ``scripts/install.sh`` installs on each host it supports.

    Per (os, arch, libc) of Linux and macOS: the newest stable, default-flavour
    CPython ``install_only`` archive for the baseline CPU (no ``x86_64_v2+``), so
    it runs on any machine of that architecture.
    """
    best: dict[tuple[str, str, str], Download] = {}
    for d in downloads:
        if (d.implementation != "cpython" or d.os not in ("linux", "darwin") or d.prerelease
                or d.variant is not None or d.arch_variant is not None
                or not d.url.startswith(PBS_DOWNLOAD_PREFIX + "/")
                or "-install_only" not in d.filename or not d.filename.endswith(".tar.gz")):
            continue
        host = (d.os, d.arch, d.libc)
        rank = (d.major, d.minor, d.patch, d.build)
        current = best.get(host)
        if current is None or rank > (current.major, current.minor, current.patch, current.build):
            best[host] = d
    return [best[host] for host in sorted(best)]


def bootstrap_table(downloads: list[Download]) -> str:
    """``install.sh``'s embedded table: ``os arch libc url sha256`` lines in ``BUILDS='…'``."""
    rows = "".join(
        f"{d.os} {d.arch} {d.libc} {d.url} {d.sha256}\n" for d in bootstrap_builds(downloads)
    )
    return f"BUILDS='\n{rows}'\n"


def write_bootstrap_table(script: Path, downloads: list[Download]) -> bool:
    """Replace the table between the markers of ``script``; return whether it changed."""
    text = script.read_text(encoding="utf-8")
    head, sep, rest = text.partition(_TABLE_BEGIN)
    _, sep2, tail = rest.partition(_TABLE_END)
    if not sep or not sep2:
        raise SystemExit(f"error: {script} has no bootstrap build table markers")
    new = head + _TABLE_BEGIN + bootstrap_table(downloads) + _TABLE_END + tail
    if new == text:
        return False
    script.write_text(new, encoding="utf-8")
    return True


def check_parser_agrees(downloads: list[Download]) -> int:
    """Re-derive every PBS entry from its own file name; return how many disagree."""
    bad = 0
    for d in downloads:
        if d.implementation != "cpython" or f"+{d.build}-" not in d.filename:
            continue
        described = download_from_pbs_filename(d.filename, d.sha256, d.build, PBS_DOWNLOAD_PREFIX)
        if described is None or described[0] != d:
            bad += 1
            print(f"parser disagrees on {d.key}: {d.filename}", file=sys.stderr)
    return bad


def _snapshot_date(paths: list[Path]) -> str | None:
    """``YYYY-MM-DDT00:00:00+00:00`` from the newest dated input file name, if any."""
    import re

    dates = [m.group(1) for p in paths if (m := re.search(r"(\d{4}-\d{2}-\d{2})", p.name))]
    return f"{max(dates)}T00:00:00+00:00" if dates else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uv-json", type=Path, action="append", default=[],
                        help="a uv-schema downloads JSON (repeatable)")
    parser.add_argument("--sha256sums", type=Path, action="append", default=[],
                        help="a python-build-standalone SHA256SUMS file (repeatable, with --tag)")
    parser.add_argument("--tag", action="append", default=[],
                        help="the release tag of the matching --sha256sums")
    parser.add_argument("--base-url", default=PBS_DOWNLOAD_PREFIX,
                        help="release download prefix for SHA256SUMS entries")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--generated", default=None,
                        help="timestamp to record (default: the snapshot date in a "
                             "python-downloads-YYYY-MM-DD.json name, else now)")
    parser.add_argument("--install-sh", type=Path, default=None,
                        help="bootstrap script whose build table is rewritten (default: "
                             "scripts/install.sh when writing the bundled catalog)")
    parser.add_argument("--fixture-dir", type=Path, default=None,
                        help="also write the SHA256SUMS test fixture here")
    args = parser.parse_args(argv)
    if len(args.sha256sums) != len(args.tag):
        parser.error("give one --tag per --sha256sums")
    if not args.uv_json and not args.sha256sums:
        parser.error("give at least one --uv-json or --sha256sums")

    groups: list[list[Download]] = []
    origins: list[str] = []
    for path in args.uv_json:
        downloads, entries = _from_uv_json(path)
        print(f"{path}: {entries} entries, {len(downloads)} installable", file=sys.stderr)
        if check_parser_agrees(downloads):
            return 1
        groups.append(downloads)
        origins.append(path.name)
        if args.fixture_dir:
            sums, expected = write_fixture(downloads, args.fixture_dir)
            print(f"wrote {sums} and {expected}", file=sys.stderr)
    for path, tag in zip(args.sha256sums, args.tag):
        downloads = downloads_from_sha256sums(path.read_text(encoding="utf-8"), tag, args.base_url)
        print(f"{path} ({tag}): {len(downloads)} downloads", file=sys.stderr)
        groups.append(downloads)
        origins.append(f"{args.base_url.rstrip('/')}/{tag}/SHA256SUMS")

    merged = merge_downloads(*groups)
    # The catalog is as old as the data it was made from, not as the run that converted it,
    # so that `pyv list` and `pyv doctor` report its age truthfully.
    generated = args.generated or _snapshot_date(args.uv_json) or now_iso()
    catalog = Catalog(
        downloads=tuple(merged), source="bundled", generated=generated,
        origin=" + ".join(origins),
    )
    save_catalog(catalog, args.output)
    start = time.perf_counter()
    loaded = read_catalog_file(args.output)
    elapsed = (time.perf_counter() - start) * 1000
    if loaded.downloads != catalog.downloads:
        print("error: the written catalog does not read back identically", file=sys.stderr)
        return 1
    # The script ships with the bundled catalog: another output (a test's, a mirror's)
    # leaves it alone unless asked.
    install_sh = args.install_sh
    if install_sh is None and args.output.resolve() == DEFAULT_OUTPUT.resolve():
        install_sh = INSTALL_SH
    if install_sh is not None and write_bootstrap_table(install_sh, list(loaded.downloads)):
        print(f"updated the bootstrap build table in {install_sh}", file=sys.stderr)
    summary: dict[str, Any] = {
        "output": str(args.output),
        "downloads": len(merged),
        "bytes": args.output.stat().st_size,
        "newest_build": catalog.newest_build,
        "read_ms": round(elapsed, 1),
    }
    print(json.dumps(summary), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

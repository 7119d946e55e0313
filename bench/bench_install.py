"""Install benchmark: ``pyv install`` against ``uv python install`` and ``tar xzf``.

Both tools install the SAME python-build-standalone ``install_only`` archive
(the running Python packed by ``tests/archives.py``, ~23 MB) from the SAME
loopback HTTP mirror, described by one uv-schema downloads JSON:

- pyv: ``PYV_PYTHON_INSTALL_MIRROR`` + ``PYV_DOWNLOADS_JSON``
- uv:  ``UV_PYTHON_INSTALL_MIRROR`` + ``UV_PYTHON_DOWNLOADS_JSON_URL`` (a file path)

Every run gets fresh, empty directories (pyv: ``PYV_HOME``; uv:
``UV_PYTHON_INSTALL_DIR``, ``UV_CACHE_DIR``, ``UV_PYTHON_BIN_DIR``), so both
download, hash, decompress and extract; the server counts one GET per run.
Rounds alternate the tools (the order rotates each round). Two floors run in
the same rounds: ``tar xzf`` of the local file, and ``curl URL | tar xz``
from the same server. ``--phases N`` then runs pyv N more times in a driver
that times its phases (imports, catalog, download + extract, fix-ups, smoke
test, publish, shims).

    python bench/bench_install.py [--rounds 7] [--phases 3] [--max-seconds 900]

Prints Markdown: the machine, the command, a table of medians and ratios,
the targets (pyv/uv <= 1.0, pyv/tar xzf <= 1.3) and the phase breakdown.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, load_average, machine_lines, markdown_table, median, tool_version

sys.path.insert(0, str(REPO / "tests"))
from archives import (
    BuiltArchive,
    build_real_archive,
    mirror_layout,
    write_catalog,
)

RUN_TIMEOUT = 300.0
#: Environment variables that could send either tool elsewhere; dropped for every run.
_DROP_PREFIXES = ("PYV_", "UV_", "PIP_")
_DROP_NAMES = {
    "http_proxy", "https_proxy", "all_proxy", "no_proxy", "ssl_cert_file", "ssl_cert_dir",
    "virtual_env", "conda_prefix", "xdg_config_home", "xdg_data_home", "xdg_cache_home",
}


# ----- the mirror ---------------------------------------------------------------------------
class _MirrorHandler(BaseHTTPRequestHandler):
    """GET/HEAD of files under ``root``, body sent with sendfile (little server CPU)."""

    protocol_version = "HTTP/1.1"
    timeout = 30
    root: Path
    hits: list[str]

    def log_message(self, format: str, *args: object) -> None:
        """No per-request log."""

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        try:
            path = (self.root / rel).resolve()
            path.relative_to(self.root)
            size = path.stat().st_size if path.is_file() else -1
        except (OSError, ValueError):
            size = -1
        if size < 0:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if body:
            self.hits.append("/" + rel)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if body:
            with open(path, "rb") as fh:
                try:
                    self.connection.sendfile(fh)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True


class Mirror:
    """A loopback mirror over ``root`` that shuts itself down after ``max_seconds``."""

    def __init__(self, root: Path, max_seconds: float) -> None:
        self.hits: list[str] = []
        handler = type("Handler", (_MirrorHandler,), {"root": root.resolve(), "hits": self.hits})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        # A bounded run: a forgotten or hung benchmark does not keep a server alive.
        self._stopper = threading.Timer(max_seconds, self.close)
        self._stopper.daemon = True
        self._stopper.start()
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stopper.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()


# ----- one variant ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    name: str
    #: Makes (argv, env) for a run in a fresh directory.
    make: Callable[[Path], tuple[list[str], dict[str, str]]]
    #: Checks the run's result; returns a message when it is wrong.
    check: Callable[[Path], str | None]
    downloads: bool


def base_env(run_dir: Path) -> dict[str, str]:
    """The caller's environment minus anything that configures pyv, uv, pip or proxies."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_DROP_PREFIXES) and k.lower() not in _DROP_NAMES
    }
    env["HOME"] = str(run_dir / "home")
    return env


def timed_run(variant: Variant, work: Path, mirror: Mirror) -> float:
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    (run_dir / "home").mkdir()
    argv, env = variant.make(run_dir)
    hits_before = len(mirror.hits)
    start = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, cwd=run_dir, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    elapsed = time.perf_counter() - start
    problem = None
    if proc.returncode != 0:
        problem = f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-800:]}"
    else:
        problem = variant.check(run_dir)
        if problem is None and variant.downloads and len(mirror.hits) == hits_before:
            problem = "did not download from the mirror"
    shutil.rmtree(run_dir, ignore_errors=True)
    if problem is not None:
        raise SystemExit(f"{variant.name} failed: {problem}\ncommand: {shlex.join(argv)}")
    return elapsed


def make_variants(
    archive: BuiltArchive, catalog: Path, mirror: Mirror, pyv: str, uv: str | None
) -> list[Variant]:
    version = ".".join(map(str, archive.version))
    minor = ".".join(map(str, archive.version[:2]))
    key = archive.key
    archive_url = f"{mirror.url}/{archive.build}/{urllib.parse.quote(archive.path.name)}"

    def pyv_make(run_dir: Path) -> tuple[list[str], dict[str, str]]:
        env = base_env(run_dir)
        env.update(
            PYV_HOME=str(run_dir / "pyv-home"),
            PYV_PYTHON_INSTALL_MIRROR=mirror.url,
            PYV_DOWNLOADS_JSON=str(catalog),
        )
        return [pyv, "install", version], env

    def pyv_check(run_dir: Path) -> str | None:
        exe = run_dir / "pyv-home" / "pythons" / key / "bin" / f"python{minor}"
        return None if exe.exists() else f"no {exe}"

    def uv_make(run_dir: Path) -> tuple[list[str], dict[str, str]]:
        env = base_env(run_dir)
        env.update(
            UV_NO_CONFIG="1",
            UV_PYTHON_INSTALL_DIR=str(run_dir / "uv-python"),
            UV_CACHE_DIR=str(run_dir / "uv-cache"),
            UV_PYTHON_BIN_DIR=str(run_dir / "uv-bin"),
            UV_PYTHON_INSTALL_MIRROR=mirror.url,
            UV_PYTHON_DOWNLOADS_JSON_URL=str(catalog),
        )
        assert uv is not None
        return [uv, "python", "install", version], env

    def uv_check(run_dir: Path) -> str | None:
        exe = run_dir / "uv-python" / key / "bin" / f"python{minor}"
        return None if exe.exists() else f"no {exe}"

    def tar_make(run_dir: Path) -> tuple[list[str], dict[str, str]]:
        return ["tar", "xzf", str(archive.path), "-C", str(run_dir)], base_env(run_dir)

    def curl_make(run_dir: Path) -> tuple[list[str], dict[str, str]]:
        pipeline = f"curl -sSf {shlex.quote(archive_url)} | tar xz -C {shlex.quote(str(run_dir))}"
        return ["bash", "-o", "pipefail", "-c", pipeline], base_env(run_dir)

    def tree_check(run_dir: Path) -> str | None:
        exe = run_dir / "python" / "bin" / f"python{minor}"
        return None if exe.exists() else f"no {exe}"

    variants = [Variant("pyv install", pyv_make, pyv_check, True)]
    if uv is not None:
        variants.append(Variant("uv python install", uv_make, uv_check, True))
    variants.append(Variant("tar xzf (local file)", tar_make, tree_check, False))
    if shutil.which("curl") is not None:
        variants.append(Variant("curl + tar xz (same mirror)", curl_make, tree_check, True))
    return variants


# ----- pyv's phases ---------------------------------------------------------------------------
#: Runs ``pyv install`` in-process with the main steps wrapped in timers. The
#: wrapped names are looked up at call time by pyv (lazy imports inside
#: functions, module globals), so patching the modules' attributes is enough.
_DRIVER = r"""
import json, sys, time
t0 = time.perf_counter()
out, argv = sys.argv[1], sys.argv[2:]
phases = {}
def add(label, seconds):
    phases[label] = phases.get(label, 0.0) + seconds
def wrap(owner, name, label):
    fn = getattr(owner, name)
    def timed(*a, **k):
        s = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            add(label, time.perf_counter() - s)
    setattr(owner, name, timed)
import pyv.cli.main, pyv.cli.commands.install, pyv.acquire.installer
import pyv.acquire.archive, pyv.acquire.catalog, pyv.acquire.checks, pyv.acquire.fixups
import pyv.acquire.store
import pyv.choose.shims
add("import pyv (cli, installer, archive, store, ...)", time.perf_counter() - t0)
s = time.perf_counter()
import pyv.acquire.download
add("import pyv.acquire.download (httpx, tqdm)", time.perf_counter() - s)
wrap(pyv.acquire.catalog, "load_catalog", "load catalog")
wrap(pyv.acquire.installer, "_fetch_and_extract", "download + hash + extract")
wrap(pyv.acquire.archive, "extract_archive", "  of which extract_archive (streams the body)")
wrap(pyv.acquire.fixups, "apply_fixups", "fix-ups (sysconfig, Makefile, marker, links)")
wrap(pyv.acquire.installer, "_smoke_test_and_prepare_shims",
     "smoke test (_ssl, _sqlite3, zlib; pip3 probe) with the shims made meanwhile")
wrap(pyv.acquire.checks.SmokeTest, "result", "waiting for the smoke test after the shims")
wrap(pyv.acquire.store.Store, "publish", "publish (rename)")
wrap(pyv.acquire.store.Store, "sync_minor_links", "minor links")
wrap(pyv.acquire.installer, "remove_tree", "remove staging dir")
wrap(pyv.choose.shims, "rehash", "rehash (shims + index)")
s = time.perf_counter()
rc = pyv.cli.main.main(argv)
add("pyv.cli.main.main (all of the install)", time.perf_counter() - s)
add("driver total (after interpreter start)", time.perf_counter() - t0)
with open(out, "w") as fh:
    json.dump({"rc": rc, "phases": phases}, fh)
"""


def phase_breakdown(
    runs: int, work: Path, variant: Variant, python: str, mirror: Mirror
) -> list[tuple[str, float]]:
    samples: dict[str, list[float]] = {}
    order: list[str] = []
    walls: list[float] = []
    for _ in range(runs):
        run_dir = Path(tempfile.mkdtemp(prefix="phases-", dir=work))
        (run_dir / "home").mkdir()
        argv, env = variant.make(run_dir)
        out = run_dir / "phases.json"
        driver = [python, "-c", _DRIVER, str(out), *argv[1:]]
        start = time.perf_counter()
        proc = subprocess.run(driver, env=env, cwd=run_dir, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0 or not out.exists():
            raise SystemExit(f"phase driver failed: {proc.stderr.strip()[-800:]}")
        data = json.loads(out.read_text())
        if data["rc"] != 0:
            raise SystemExit(f"pyv install failed in the phase driver: {proc.stderr[-800:]}")
        for label, seconds in data["phases"].items():
            if label not in samples:
                order.append(label)
            samples.setdefault(label, []).append(seconds)
        shutil.rmtree(run_dir, ignore_errors=True)
    # The driver records an inner step before the step around it; show outer first.
    inner = [label for label in order if label.startswith("  ")]
    outer = [label for label in order if not label.startswith("  ")]
    for label in inner:
        outer.insert(outer.index("download + hash + extract") + 1, label)
    rows = [(label, median(samples[label])) for label in outer]
    rows.append(("process wall time (interpreter start to exit)", median(walls)))
    return rows


# ----- main ---------------------------------------------------------------------------------
def _tool(explicit: str | None, name: str) -> str | None:
    if explicit:
        return explicit
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed runs of each variant")
    parser.add_argument("--phases", type=int, default=3, help="extra pyv runs timing phases")
    parser.add_argument("--pyv", help="the pyv command (default: next to this Python)")
    parser.add_argument("--uv", help="the uv command (default: next to this Python, or PATH)")
    parser.add_argument("--max-seconds", type=float, default=900.0,
                        help="stop the loopback server after this long, whatever happens")
    parser.add_argument("--dir", type=Path, default=None,
                        help="work directory (default: a temporary one, removed at the end)")
    args = parser.parse_args()

    pyv = _tool(args.pyv, "pyv")
    if pyv is None:
        raise SystemExit("pyv not found: install the project (pip install -e .) or pass --pyv")
    uv = _tool(args.uv, "uv")
    owned = args.dir is None
    work = Path(tempfile.mkdtemp(prefix="pyv-bench-install-")) if owned else args.dir
    work.mkdir(parents=True, exist_ok=True)
    work = work.resolve()
    load_before = load_average()
    try:
        archive = build_real_archive(work / "archive")
        mirror_root = work / "mirror"
        mirror_layout(mirror_root, archive)
        catalog = write_catalog(work / "download-metadata.json", [archive])
        mirror = Mirror(mirror_root, args.max_seconds)
        try:
            variants = make_variants(archive, catalog, mirror, pyv, uv)
            samples: dict[str, list[float]] = {v.name: [] for v in variants}
            for v in variants:  # one untimed run each: page cache, binaries, server warm
                timed_run(v, work, mirror)
            for r in range(args.rounds):
                k = r % len(variants)
                for v in variants[k:] + variants[:k]:
                    samples[v.name].append(timed_run(v, work, mirror))
            phases = (
                phase_breakdown(args.phases, work, variants[0], sys.executable, mirror)
                if args.phases > 0
                else []
            )
        finally:
            mirror.close()
        report(args, archive, samples, phases, pyv, uv, (load_before, load_average()))
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def report(
    args: argparse.Namespace,
    archive: BuiltArchive,
    samples: dict[str, list[float]],
    phases: list[tuple[str, float]],
    pyv: str,
    uv: str | None,
    loads: tuple[str, str],
) -> None:
    meds = {name: median(values) for name, values in samples.items()}
    uv_med = meds.get("uv python install")
    tar_med = meds["tar xzf (local file)"]
    size_mb = archive.path.stat().st_size / 1e6
    print(f"## Install benchmark ({datetime.date.today().isoformat()})\n")
    print(
        f"Archive: `{archive.path.name}` ({size_mb:.1f} MB, the running Python "
        f"{'.'.join(map(str, archive.version))} packed as install_only), served from a "
        "loopback HTTP mirror; a fresh store and no download cache for every run; "
        f"{args.rounds} alternating rounds, medians.\n"
    )
    print("\n".join(machine_lines({
        "pyv": tool_version([pyv, "--version"]),
        "uv": tool_version([uv, "--version"]) if uv else "absent",
        "tar": tool_version(["tar", "--version"]),
        "load average (1/5/15 min) before, after": f"{loads[0]}; {loads[1]}",
    })))
    print(f"- Command: `python bench/bench_install.py --rounds {args.rounds} "
          f"--phases {args.phases}`\n")
    rows = []
    for name, values in samples.items():
        med = meds[name]
        rows.append([
            name,
            f"{med:.3f}",
            f"{min(values):.3f}",
            f"{max(values):.3f}",
            f"{med / uv_med:.2f}" if uv_med else "n/a",
            f"{med / tar_med:.2f}",
        ])
    print(markdown_table(
        ["variant", "median (s)", "min (s)", "max (s)", "ratio to uv", "ratio to tar xzf"], rows
    ))
    pyv_med = meds["pyv install"]
    print()
    if uv_med:
        ratio = pyv_med / uv_med
        verdict = "met" if ratio <= 1.0 else "MISSED"
        print(f"- Target pyv/uv <= 1.0: {ratio:.2f} ({verdict})")
    else:
        print("- Target pyv/uv <= 1.0: not measured (uv not found)")
    ratio = pyv_med / tar_med
    print(f"- Target pyv/tar xzf <= 1.3: {ratio:.2f} ({'met' if ratio <= 1.3 else 'MISSED'})")
    if phases:
        print(f"\n### Where pyv's time goes (median of {args.phases} instrumented runs)\n")
        print(markdown_table(["phase", "seconds"], [[p, f"{s:.3f}"] for p, s in phases]))


if __name__ == "__main__":
    raise SystemExit(main())

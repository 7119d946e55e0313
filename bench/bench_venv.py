"""Benchmark environment creation: pyv against uv, venv and virtualenv (same interpreter).

Usage: python bench/bench_venv.py [--python PATH] [--runs N] [--seed-runs N] [--dir DIR]

Prints Markdown tables of median wall times and each tool's ratio to pyv.
Every tool gets the same interpreter, target filesystem and a fresh target
directory per run (removed before the run, outside the timing). Seeded runs
are "warm": one untimed run first fills each tool's own wheel cache.

Targets (issue 4): without seeding, pyv within 1.5x of `uv venv` and faster
than `python -m venv --without-pip`; with --seed (warm) under 1 s.
virtualenv and uv are taken from PATH or next to this Python; when missing
they are pip-installed into a throwaway environment for the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def default_python() -> str:
    base = Path(sys.base_prefix) / "bin"
    for name in (f"python{sys.version_info[0]}.{sys.version_info[1]}", "python3", "python"):
        if (base / name).exists():
            return str(base / name)
    return sys.executable


def find_tool(name: str) -> str | None:
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    return shutil.which(name)


def tool_env(work: Path, packages: Sequence[str]) -> Path:
    """A throwaway environment with ``packages`` (for tools not installed here)."""
    env = work / "tools"
    if not env.exists():
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", *packages],
                   check=True)
    return env / "bin"


def add_managed(home: Path, python: str, pyv: str, env: dict[str, str]) -> str:
    """Register ``python``'s installation in pyv's store (linked, not copied) and rehash,
    as `pyv install` would leave it; returns the minor version to request."""
    out = subprocess.run([python, "-c", "import sys; print(sys.prefix); "
                          "print('.'.join(map(str, sys.version_info[:3])))"],
                         capture_output=True, text=True, check=True).stdout.split()
    prefix, version = Path(out[0]), out[1]
    minor = ".".join(version.split(".")[:2])
    platform = f"linux-{os.uname().machine}-gnu"
    key = f"cpython-{version}-{platform}"
    inst = home / "pythons" / key
    inst.mkdir(parents=True)
    for sub in ("bin", "lib", "include"):
        os.symlink(prefix / sub, inst / sub)
    (inst / ".pyv-install.json").write_text(json.dumps({
        "key": key, "implementation": "cpython", "version": version, "variant": None,
        "os": "linux", "arch": "x86_64", "arch_variant": None, "libc": "gnu", "build": "bench",
        "sha256": None, "url": "file:///bench", "installed_at": "2026-01-01T00:00:00+00:00",
        "executable": f"bin/python{minor}"}))
    os.symlink(key, home / "pythons" / f"cpython-{minor}-{platform}")
    subprocess.run([pyv, "rehash"], env=env, check=True, capture_output=True)
    return minor


def time_runs(command: Callable[[Path], list[str]], target: Path, runs: int,
              env: dict[str, str], warmup: int = 1) -> float | None:
    """Median seconds of ``runs`` runs (after ``warmup`` untimed ones); None if it fails."""
    times: list[float] = []
    for i in range(warmup + runs):
        shutil.rmtree(target, ignore_errors=True)
        start = time.perf_counter()
        result = subprocess.run(command(target), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            print(f"  failed: {' '.join(command(target))}: {result.stderr.strip()[-300:]}",
                  file=sys.stderr)
            return None
        if i >= warmup:
            times.append(elapsed)
    shutil.rmtree(target, ignore_errors=True)
    return statistics.median(times)


def table(title: str, results: dict[str, float | None], reference: str) -> str:
    ref = results.get(reference)
    lines = [f"### {title}", "", "| tool | median | vs pyv |", "|---|---:|---:|"]
    for name, value in results.items():
        if value is None:
            lines.append(f"| {name} | n/a | |")
            continue
        ratio = f"{value / ref:.2f}x" if ref else ""
        lines.append(f"| {name} | {value * 1000:.1f} ms | {ratio} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=default_python(), help="interpreter for every tool")
    parser.add_argument("--runs", type=int, default=21, help="timed runs without seeding")
    parser.add_argument("--seed-runs", type=int, default=5, help="timed runs with seeding")
    parser.add_argument("--dir", default=None, help="work directory (default: a temp dir)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="pyv-bench-", dir=args.dir))
    target = work / "env"
    py = args.python
    # Installed packages carry bytecode; a dev checkout under PYTHONDONTWRITEBYTECODE would
    # recompile pyv on every run, so compile it once and let every tool write bytecode.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYV_", "VIRTUAL_ENV")) and k != "PYTHONDONTWRITEBYTECODE"}
    import pyv

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(pyv.__file__).parent)],
                   check=True, env=env)
    env["PYV_HOME"] = str(work / "pyv-home")
    env["UV_CACHE_DIR"] = str(work / "uv-cache")
    env["VIRTUALENV_OVERRIDE_APP_DATA"] = str(work / "virtualenv-data")
    pyv = find_tool("pyv")
    if pyv is None:
        print("pyv is not installed in this Python", file=sys.stderr)
        return 1
    uv = find_tool("uv")
    virtualenv = find_tool("virtualenv")
    if uv is None or virtualenv is None:
        missing = [n for n, t in (("uv", uv), ("virtualenv", virtualenv)) if t is None]
        bin_dir = tool_env(work, missing)
        uv = uv or str(bin_dir / "uv")
        virtualenv = virtualenv or str(bin_dir / "virtualenv")

    # The same interpreter, also as a managed installation (the fast path's other half).
    minor = add_managed(work / "pyv-home", py, pyv, env)
    print(f"interpreter: {py}\nwork dir: {work}\nruns: {args.runs} (seeded: {args.seed_runs})\n")
    try:
        plain = {
            "pyv venv": time_runs(lambda t: [pyv, "venv", "-q", "-p", py, str(t)], target,
                                  args.runs, env),
            "uv venv": time_runs(lambda t: [uv, "venv", "-q", "-p", py, str(t)], target,
                                 args.runs, env),
            f"pyv venv -p {minor} (managed)": time_runs(
                lambda t: [pyv, "venv", "-q", "-p", minor, str(t)], target, args.runs, env),
            "python -m venv --without-pip": time_runs(
                lambda t: [py, "-m", "venv", "--without-pip", str(t)], target, args.runs, env),
            "virtualenv --no-seed": time_runs(
                lambda t: [virtualenv, "-q", "--no-seed", "-p", py, str(t)], target,
                args.runs, env),
        }
        seeded = {
            "pyv venv --seed": time_runs(lambda t: [pyv, "venv", "-q", "--seed", "-p", py, str(t)],
                                         target, args.seed_runs, env),
            "uv venv --seed": time_runs(lambda t: [uv, "venv", "-q", "--seed", "-p", py, str(t)],
                                        target, args.seed_runs, env),
            "python -m venv (with pip)": time_runs(lambda t: [py, "-m", "venv", str(t)], target,
                                                   args.seed_runs, env),
            "virtualenv (seeded)": time_runs(lambda t: [virtualenv, "-q", "-p", py, str(t)],
                                             target, args.seed_runs, env),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table("Without seeding", plain, "pyv venv"))
    print()
    print(table("With seeding (warm caches)", seeded, "pyv venv --seed"))
    print()
    mine, uv_time, venv_time = plain["pyv venv"], plain["uv venv"], plain[
        "python -m venv --without-pip"]
    seed_time = seeded["pyv venv --seed"]
    if mine and uv_time:
        verdict = "met" if mine <= 1.5 * uv_time else "missed"
        print(f"- no-seed vs uv venv: {mine / uv_time:.2f}x (target <= 1.5x: {verdict})")
    if mine and venv_time:
        verdict = "met" if mine < venv_time else "missed"
        print(f"- no-seed vs python -m venv --without-pip: {mine / venv_time:.2f}x "
              f"(target < 1x: {verdict})")
    if seed_time:
        print(f"- warm --seed: {seed_time:.2f} s (target < 1 s: "
              f"{'met' if seed_time < 1 else 'missed'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

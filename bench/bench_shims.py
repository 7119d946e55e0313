"""Overhead of running ``python -S -c pass`` through the pyv shim, versus the interpreter
directly (and versus pyenv's shim when pyenv is installed).

The pyv side is a throw-away PYV_HOME whose store holds the very interpreter that is
run directly (linked in), pinned by a ``.python-version`` three directories above the
working directory, so the shim walks up, reads the file and looks the version up in
the index like it does for users. Uses hyperfine when present, else an interleaved
loop of posix_spawn (each round runs every variant once, so drift hits all alike).

    python bench/bench_shims.py [--runs 200] [--python /path/to/python3.X]

Prints a Markdown table of medians, added milliseconds and ratios to direct.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PYENV_ROOT = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def _pyenv_version(python: Path) -> str | None:
    """The pyenv version holding ``python``, if pyenv is installed and has it."""
    if not (PYENV_ROOT / "bin" / "pyenv").exists() and shutil.which("pyenv") is None:
        return None
    try:
        rel = python.resolve().relative_to((PYENV_ROOT / "versions").resolve())
    except ValueError:
        return None
    return rel.parts[0]


def _default_python() -> Path:
    """A pyenv-built interpreter when pyenv is there (so all three run the same binary)."""
    def minor(path: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in path.name[len("python"):].split("."))

    versions = (PYENV_ROOT / "versions").glob("3.*/bin/python3.*")
    plain = sorted((p for p in versions if p.name.count(".") == 1 and p.name[-1].isdigit()),
                   key=minor)
    if plain:
        return plain[-1]
    return Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))


def _interpreter_version(python: Path) -> str:
    out = subprocess.run([str(python), "-S", "-c",
                          "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def setup_pyv(root: Path, python: Path) -> tuple[list[str], dict[str, str], Path]:
    """A PYV_HOME holding ``python`` as an installation, rehashed; returns (cmd, env, cwd)."""
    from pyv.choose.shims import rehash
    from pyv.core.settings import load_settings

    version = _interpreter_version(python)
    minor = ".".join(version.split(".")[:2])
    home = root / "pyv-home"
    key = f"cpython-{version}-linux-x86_64-gnu"
    inst = home / "pythons" / key
    (inst / "bin").mkdir(parents=True)
    (inst / "bin" / f"python{minor}").symlink_to(python)
    (inst / "bin" / "python3").symlink_to(f"python{minor}")
    (inst / ".pyv-install.json").write_text(json.dumps({
        "key": key, "implementation": "cpython", "version": version, "variant": None,
        "os": "linux", "arch": "x86_64", "arch_variant": None, "libc": "gnu", "build": "bench",
        "sha256": None, "url": "", "installed_at": "", "executable": f"bin/python{minor}",
    }))
    rehash(load_settings({"PYV_HOME": str(home)}))
    project = root / "project"
    cwd = project / "src" / "pkg" / "sub"
    cwd.mkdir(parents=True)
    (project / ".python-version").write_text(f"{minor}\n")
    env = {"PATH": f"{home / 'shims'}:/usr/bin:/bin", "HOME": str(root), "PWD": str(cwd)}
    return [str(home / "shims" / "python"), "-S", "-c", "pass"], env, cwd


def spawn_time(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        start = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, env)
        _, status = os.waitpid(pid, 0)
        elapsed = time.perf_counter() - start
    finally:
        os.chdir(old)
    if status != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}")
    return elapsed * 1000


def interleaved(variants: dict[str, tuple[list[str], dict[str, str], Path]],
                runs: int, warmup: int = 5) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(warmup + runs):
        for name, (cmd, env, cwd) in variants.items():
            t = spawn_time(cmd, env, cwd)
            if i >= warmup:
                samples[name].append(t)
    return {name: statistics.median(values) for name, values in samples.items()}


def with_hyperfine(variants: dict[str, tuple[list[str], dict[str, str], Path]],
                   runs: int, root: Path) -> dict[str, float]:
    medians: dict[str, float] = {}
    for name, (cmd, env, cwd) in variants.items():
        out = root / f"{name.replace(' ', '_')}.json"
        exports = " ".join(f"{k}={shlex_quote(v)}" for k, v in env.items())
        command = f"cd {shlex_quote(str(cwd))} && env -i {exports} " + " ".join(
            shlex_quote(c) for c in cmd)
        # The `env -i` + `cd` wrapper costs the same for every variant; -N cannot cd.
        subprocess.run(["hyperfine", "--warmup", "5", "--runs", str(runs), "--export-json",
                        str(out), "--style", "none", command], check=True,
                       stdout=subprocess.DEVNULL)
        data = json.loads(out.read_text())
        medians[name] = data["results"][0]["median"] * 1000
    return medians


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--python", type=Path, default=None)
    parser.add_argument("--no-hyperfine", action="store_true")
    args = parser.parse_args()
    python = (args.python or _default_python()).absolute()
    with tempfile.TemporaryDirectory(prefix="pyv-bench-") as tmp:
        root = Path(tmp)
        pyv_cmd, pyv_env, cwd = setup_pyv(root, python)
        variants = {
            "direct": ([str(python), "-S", "-c", "pass"], {"PATH": "/usr/bin:/bin",
                                                          "PWD": str(cwd)}, cwd),
            "pyv shim": (pyv_cmd, pyv_env, cwd),
        }
        pyenv_version = _pyenv_version(python)
        if pyenv_version is not None:
            pyenv_env = {"PATH": f"{PYENV_ROOT / 'shims'}:{PYENV_ROOT / 'bin'}:/usr/bin:/bin",
                         "PYENV_ROOT": str(PYENV_ROOT), "PYENV_VERSION": pyenv_version,
                         "HOME": str(root), "PWD": str(cwd)}
            variants["pyenv shim"] = ([str(PYENV_ROOT / "shims" / "python"), "-S", "-c", "pass"],
                                      pyenv_env, cwd)
        use_hyperfine = shutil.which("hyperfine") is not None and not args.no_hyperfine
        if use_hyperfine:
            medians = with_hyperfine(variants, args.runs, root)
            method = f"hyperfine, {args.runs} runs each, median"
        else:
            medians = interleaved(variants, args.runs)
            method = f"interleaved posix_spawn loop, {args.runs} rounds, median"
    direct = medians["direct"]
    print(f"`python -S -c pass` with {python} ({method})\n")
    print("| variant | median (ms) | added (ms) | ratio to direct |")
    print("|---|---:|---:|---:|")
    for name, value in medians.items():
        print(f"| {name} | {value:.2f} | {value - direct:+.2f} | {value / direct:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

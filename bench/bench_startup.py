"""Start-up time of pyv's read-only commands against uv's equivalents.

One interpreter (the running Python packed as a python-build-standalone
archive) is installed by pyv and by uv into throw-away directories from a
loopback mirror; then each command is timed, with
PATH=/usr/local/bin:/usr/bin:/bin, by hyperfine (when installed, ``-N``,
warm-up runs) or else an interleaved loop. pyv's own commands use the bundled
catalog, as users run them.

    python bench/bench_startup.py [--runs 40] [--no-hyperfine]

Prints a Markdown table of medians.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_install import Mirror, _tool, base_env
from common import REPO, load_average, machine_lines, markdown_table, median, tool_version

sys.path.insert(0, str(REPO / "tests"))
from archives import build_real_archive, mirror_layout, write_catalog


def hyperfine_median(argv: list[str], env: dict[str, str], runs: int, out: Path) -> float:
    subprocess.run(
        ["hyperfine", "-N", "--warmup", "5", "--runs", str(runs), "--export-json", str(out),
         "--style", "none", shlex_join(argv)],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return float(json.loads(out.read_text())["results"][0]["median"])


def shlex_join(argv: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in argv)


def loop_medians(
    commands: dict[str, tuple[list[str], dict[str, str]]], runs: int
) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(runs + 3):
        for name, (argv, env) in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
            if i >= 3:
                samples[name].append(time.perf_counter() - start)
    return {name: median(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--no-hyperfine", action="store_true")
    args = parser.parse_args()
    pyv = _tool(None, "pyv")
    uv = _tool(None, "uv")
    if pyv is None:
        raise SystemExit("pyv not found next to this Python")
    with tempfile.TemporaryDirectory(prefix="pyv-bench-startup-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        archive = build_real_archive(work / "archive")
        mirror_layout(work / "mirror", archive)
        catalog = write_catalog(work / "download-metadata.json", [archive])
        version = ".".join(map(str, archive.version))
        minor = ".".join(map(str, archive.version[:2]))
        env = base_env(work)
        # uv probes every python on PATH for some commands (and re-runs failing pyenv
        # shims each time); a plain PATH measures the tools, not the machine's PATH.
        env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        pyv_env = {**env, "PYV_HOME": str(work / "pyv-home")}
        uv_env = {**env, "UV_NO_CONFIG": "1", "UV_PYTHON_INSTALL_DIR": str(work / "uv-python"),
                  "UV_CACHE_DIR": str(work / "uv-cache"), "UV_PYTHON_BIN_DIR": str(work / "uv-bin"),
                  "UV_PYTHON_DOWNLOADS": "never"}
        mirror = Mirror(work / "mirror", 300)
        try:
            subprocess.run([pyv, "install", version], check=True, capture_output=True, env={
                **pyv_env, "PYV_PYTHON_INSTALL_MIRROR": mirror.url,
                "PYV_DOWNLOADS_JSON": str(catalog)})
            if uv is not None:
                subprocess.run([uv, "python", "install", version], check=True, capture_output=True,
                               env={**uv_env, "UV_PYTHON_DOWNLOADS": "automatic",
                                    "UV_PYTHON_INSTALL_MIRROR": mirror.url,
                                    "UV_PYTHON_DOWNLOADS_JSON_URL": str(catalog)})
        finally:
            mirror.close()
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            f"{Path(sys.executable).name} -S -c pass (floor)": (
                [sys.executable, "-S", "-c", "pass"], env),
            "pyv --version": ([pyv, "--version"], pyv_env),
            "pyv list --installed": ([pyv, "list", "--installed"], pyv_env),
            "pyv list": ([pyv, "list"], pyv_env),
            "pyv list --all-versions --all-platforms": (
                [pyv, "list", "--all-versions", "--all-platforms"], pyv_env),
            f"pyv find {minor}": ([pyv, "find", minor], pyv_env),
        }
        if uv is not None:
            commands["uv python list --only-installed"] = (
                [uv, "python", "list", "--only-installed"], uv_env)
            commands["uv python list --only-installed --managed-python"] = (
                [uv, "python", "list", "--only-installed", "--managed-python"], uv_env)
            commands[f"uv python find {minor}"] = ([uv, "python", "find", minor], uv_env)
        use_hyperfine = shutil.which("hyperfine") is not None and not args.no_hyperfine
        if use_hyperfine:
            medians = {
                name: hyperfine_median(argv, cmd_env, args.runs, work / f"h{i}.json")
                for i, (name, (argv, cmd_env)) in enumerate(commands.items())
            }
            method = f"hyperfine -N, 5 warm-up + {args.runs} runs, median"
        else:
            medians = loop_medians(commands, args.runs)
            method = f"interleaved loop, {args.runs} rounds, median"
    print(f"Start-up times ({method})\n")
    print("\n".join(machine_lines({
        "pyv": tool_version([pyv, "--version"]),
        "uv": tool_version([uv, "--version"]) if uv else "absent",
        "load average (1/5/15 min) after": load_average(),
    })))
    print()
    print(markdown_table(["command", "median (ms)"],
                         [[f"`{name}`", f"{value * 1000:.1f}"] for name, value in medians.items()]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

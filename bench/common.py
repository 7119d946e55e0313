"""Helpers shared by the bench scripts: the machine, medians, Markdown tables.

Import from a bench script with ``sys.path.insert(0, str(Path(__file__).parent))``
(the scripts are run as files, not as a package).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else platform's guess."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tool_version(argv: Sequence[str]) -> str:
    """First line of ``argv``'s output, or ``"absent"`` when it cannot run."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "absent"


def machine_lines(extra: dict[str, str] | None = None) -> list[str]:
    """Markdown bullet lines describing the machine the figures come from."""
    lines = [
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical CPUs (`nproc` {_nproc()})",
        f"- OS: {platform.system()} {platform.release()} ({platform.machine()})",
        f"- Python running the benchmark: {platform.python_version()} ({sys.executable})",
    ]
    for name, value in (extra or {}).items():
        lines.append(f"- {name}: {value}")
    return lines


def _nproc() -> str:
    exe = shutil.which("nproc")
    if exe is None:
        return str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else "?"
    return tool_version([exe])


def load_average() -> str:
    """The 1/5/15-minute load averages: other work on the machine skews the figures."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A Markdown table; ``align`` holds one of ``l``/``r`` per column (default: l, then r)."""
    spec = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in spec]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)

"""Commands that do not download must never import httpx or tqdm (start-up cost)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import io, json, sys, contextlib
from pyv.cli.main import main
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:  # argparse's --version and --help
        code = exc.code
heavy = sorted(m for m in ("httpx", "tqdm", "httpcore", "anyio", "h11", "certifi", "ssl",
                           "packaging.specifiers", "packaging.tags")
               if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy, "err": err.getvalue()}))
"""


def run_probe(*args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    data: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--installed"),
        ("find", "3.12"),
        ("find",),
        ("dir",),
        ("version",),
        ("which", "python"),
        ("--version",),
        ("envs",),
        ("pin",),
    ],
)
def test_no_download_stack_imported(args: tuple[str, ...]) -> None:
    data = run_probe(*args)
    assert data["heavy"] == [], data


def test_listing_the_catalog_does_not_import_the_download_stack() -> None:
    data = run_probe("list", "--available")
    assert data["code"] == 0, data
    assert data["heavy"] == [], data

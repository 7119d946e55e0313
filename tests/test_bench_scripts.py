"""The benchmark scripts run by hand, so nothing else notices when a module they
instrument moves: check that what bench/bench_install.py's phase driver wraps exists."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _driver_source() -> str:
    tree = ast.parse((BENCH / "bench_install.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_DRIVER" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("bench_install.py has no _DRIVER")


def test_the_install_phase_driver_wraps_names_that_exist() -> None:
    driver = ast.parse(_driver_source())
    modules = [alias.name for node in ast.walk(driver) if isinstance(node, ast.Import)
               for alias in node.names if alias.name.startswith("pyv")]
    assert modules
    for name in modules:
        importlib.import_module(name)
    wrapped = [node for node in ast.walk(driver) if isinstance(node, ast.Call)
               and isinstance(node.func, ast.Name) and node.func.id == "wrap"]
    assert len(wrapped) >= 5
    for call in wrapped:
        owner_text = ast.unparse(call.args[0])
        attribute = ast.literal_eval(call.args[1])
        owner = eval(owner_text, {"pyv": sys.modules["pyv"]})  # our own source, not input
        assert hasattr(owner, attribute), f"bench driver wraps {owner_text}.{attribute}"

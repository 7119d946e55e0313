"""docs/architecture.md's layer table is the import-linter contract CI checks, row for row,
and pyv's modules import one another without a cycle (imports inside functions count)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent


def contract_layers() -> list[set[str]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    return [{name.strip() for name in row.split("|")} for row in layers]


def documented_layers() -> list[set[str]]:
    rows = []
    for line in (REPO / "docs" / "architecture.md").read_text().splitlines():
        match = re.match(r"\| (\d+) \| (.+?) \|", line)
        if match:
            rows.append((int(match.group(1)), set(re.findall(r"`(pyv[\w.]*)`", match.group(2)))))
    assert [n for n, _ in rows] == list(range(1, len(rows) + 1))
    return [names for _, names in rows]


def test_the_documented_layers_are_the_checked_ones() -> None:
    assert documented_layers() == contract_layers()


def test_every_module_has_a_layer() -> None:
    placed = set().union(*contract_layers())
    top = {p.stem if p.is_file() else p.name for p in (REPO / "src" / "pyv").iterdir()
           if (p.suffix == ".py" or (p / "__init__.py").is_file()) and not p.name.startswith("_")}
    assert {f"pyv.{name}" for name in top} == placed


def test_no_import_cycle() -> None:
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("pyv")
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(imported, module):
                chain = graph.find_shortest_chain(imported, module)
                pytest.fail(f"{module} -> {' -> '.join(chain or [])}")

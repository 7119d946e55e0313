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


def _layer_contracts() -> list[list[set[str]]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    return [[{name.strip() for name in row.split("|")} for row in c["layers"]]
            for c in config["contracts"] if c["type"] == "layers"]


def folder_layers() -> list[set[str]]:
    """The coarse contract: one package per layer folder."""
    return _layer_contracts()[0]


def contract_layers() -> list[set[str]]:
    """The fine contract: the modules inside the folders."""
    return _layer_contracts()[1]


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


def _modules_in(package: Path, dotted: str) -> set[str]:
    return {f"{dotted}.{p.stem if p.is_file() else p.name}" for p in package.iterdir()
            if (p.suffix == ".py" or (p / "__init__.py").is_file()) and not p.name.startswith("_")}


def test_every_folder_is_a_layer() -> None:
    """src/pyv's packages are the coarse layers, and every one of them is in the contract."""
    assert _modules_in(REPO / "src" / "pyv", "pyv") == set().union(*folder_layers())


def test_every_module_has_a_layer() -> None:
    """Each module of a layer folder (and the cli and venv packages whole) has a fine layer,
    inside its folder's place in the coarse order."""
    placed = set().union(*contract_layers())
    expected: set[str] = set()
    for (folder,) in folder_layers():
        package = REPO / "src" / Path(*folder.split("."))
        inner = _modules_in(package, folder)
        expected |= {folder} if folder in placed else inner
    assert expected == placed
    order = [next(f for (f,) in folder_layers() if m == f or m.startswith(f + "."))
             for row in contract_layers() for m in sorted(row)]
    ranks = [[f for (f,) in folder_layers()].index(f) for f in order]
    assert ranks == sorted(ranks), "a module's fine layer sits above a folder over it"


def test_no_import_cycle() -> None:
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("pyv")
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(imported, module):
                chain = graph.find_shortest_chain(imported, module)
                pytest.fail(f"{module} -> {' -> '.join(chain or [])}")

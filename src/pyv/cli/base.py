"""Command classes and the context they run in."""

from __future__ import annotations

import abc
import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TextIO

from pyv.settings import Settings


@dataclass
class Context:
    """What a command needs from the outside world, passed in rather than read."""

    settings: Settings
    environ: Mapping[str, str]
    cwd: Path
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    quiet: bool = False
    verbose: bool = False

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def info(self, text: str) -> None:
        """Progress and status for humans: stderr, silenced by --quiet."""
        if not self.quiet:
            print(text, file=self.stderr)

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=self.stderr)

    def emit_json(self, data: Any) -> None:
        json.dump(data, self.stdout, indent=2, default=str)
        self.stdout.write("\n")

    @property
    def status_stream(self) -> TextIO:
        """Where domain code writes progress: stderr, or nowhere under --quiet."""
        if self.quiet:
            import io

            return io.StringIO()
        return self.stderr


class Command(abc.ABC):
    """One subcommand. Subclasses set ``name``/``help`` and implement ``run``."""

    name: ClassVar[str]
    help: ClassVar[str]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:  # noqa: B027 - optional hook
        """Declare the command's arguments (none by default)."""

    def settings_overrides(self, args: argparse.Namespace) -> dict[str, object]:
        """Settings that this command's flags override (flag > env > file > default)."""
        return {}

    @abc.abstractmethod
    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        """Do the work and render the result; return the exit code."""


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")

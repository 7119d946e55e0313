"""The one way pyv talks to a person: a :class:`Reporter`, built once by the CLI.

Everything a user reads on stderr besides the final error line goes through it, at
one of four levels:

``warning``
    ``warning: …``; shown even under ``-q`` (something is off, the command goes on).
``notice``
    what is happening (``Installed Python 3.12.4``, a download's status line, a lock
    wait); silenced by ``-q``.
``detail``
    what pyv decided and why (``verbose: …``); only with ``-v``.
``line``
    a plain line that is part of the command's answer but belongs on stderr (say,
    the versions a listing misses); never silenced.

Domain code takes a reporter instead of a stream; :data:`SILENT` (the default there)
says nothing, so library callers and tests opt in. The one exception is a lock wait:
locks are taken a dozen layers below any caller's reporter (the store, the shims, the
registry), so :mod:`pyv.core.locking` says it to :func:`process_reporter`, which the CLI
sets once. Cheap to import (it is on every command's path): no :mod:`typing`, no
:mod:`dataclasses`.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: see pyv.cli.main
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["SILENT", "Reporter", "process_reporter", "redact", "stderr_reporter",
           "use_for_process"]


class Reporter:
    """Where and how much pyv says: a stream (``None``: nowhere), ``-q``, ``-v``."""

    __slots__ = ("quiet", "stream", "verbosity")

    def __init__(self, stream: TextIO | None, *, quiet: bool = False,
                 verbosity: int = 0) -> None:
        self.stream = stream
        self.quiet = quiet
        self.verbosity = 0 if quiet else verbosity

    @property
    def verbose(self) -> bool:
        """Whether ``detail`` lines are shown (worth checking before building costly ones)."""
        return self.verbosity > 0 and self.stream is not None

    @property
    def progress_stream(self) -> TextIO | None:
        """Where a progress bar may draw: the stream, unless ``-q`` or silent."""
        return None if self.quiet else self.stream

    def warning(self, text: str) -> None:
        self._write(f"warning: {text}")

    def notice(self, text: str) -> None:
        if not self.quiet:
            self._write(text)

    def detail(self, text: str) -> None:
        if self.verbosity > 0:
            self._write(f"verbose: {text}")

    def line(self, text: str) -> None:
        self._write(text)

    def flush(self) -> None:
        """Before handing the terminal to another program (exec)."""
        if self.stream is not None:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def _write(self, text: str) -> None:
        stream = self.stream
        if stream is None:
            return
        try:
            # One write per line: lines from parallel downloads never interleave mid-line.
            stream.write(text + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not turn a success into a failure


#: Says nothing: the default for domain code called without a reporter.
SILENT = Reporter(None)


def stderr_reporter(*, quiet: bool = False, verbosity: int = 0) -> Reporter:
    """The CLI's reporter: this process's stderr (looked up now, so tests may swap it)."""
    return Reporter(sys.stderr, quiet=quiet, verbosity=verbosity)


_process: list[Reporter] = []


def use_for_process(report: Reporter | None) -> Reporter | None:
    """Make ``report`` the one :func:`process_reporter` returns (None: the default);
    returns the one before, which the CLI puts back when its command ends (an in-process
    caller must not find a finished run's reporter, or its stream, still in place)."""
    previous = _process[0] if _process else None
    _process[:] = [] if report is None else [report]
    return previous


def process_reporter() -> Reporter:
    """For what happens far below any caller's reporter (lock waits): the CLI's, else
    a plain stderr reporter (a library caller still learns why it waits)."""
    return _process[0] if _process else stderr_reporter()


def redact(url: str) -> str:
    """``url`` without any ``user:password@`` part, fit for messages (anything else as is)."""
    if "@" not in url or "://" not in url:
        return url
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

"""What a person sees while a download runs: one line per download.

On a terminal (and unless progress is off) that line is a tqdm bar whose
description is the status text ("Downloading X from HOST"); the finished bar
stays and ends with a newline, and bars of downloads running at the same time
each get their own line (tqdm assigns positions). Anywhere else the status
text is a notice of the caller's :class:`~pyv.core.report.Reporter`, and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from pyv.core.report import Reporter
    from pyv.core.settings import Settings


def bar_stream(settings: Settings, report: Reporter) -> TextIO | None:
    """Where a bar draws: the reporter's stream if it is a terminal and progress is on."""
    out = report.progress_stream
    if out is None or not settings.progress:
        return None
    try:
        return out if out.isatty() else None
    except (AttributeError, ValueError):
        return None


class Progress:
    """The one line of one download: a bar on a terminal, else the plain status text."""

    def __init__(self, report: Reporter, status: str, *, label: str,
                 bar: TextIO | None) -> None:
        self.report = report
        self.status = status
        self.label = label
        self.bar_out = bar
        self._bar: Any = None
        self._started = False

    def start(self, total: int | None, initial: int) -> None:
        """Show the line, once the server answered (a refusal must be the only line)."""
        if self._started:
            return
        self._started = True
        if self.bar_out is not None:
            import tqdm  # only for a terminal: 6-9 ms saved everywhere else

            self._bar = tqdm.tqdm(
                total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=self.status or self.label, file=self.bar_out, leave=True,
                dynamic_ncols=True,
            )
        elif self.status:
            self.report.notice(self.status)

    def set_total(self, total: int | None) -> None:
        if self._bar is not None and total is not None and self._bar.total != total:
            self._bar.total = total
            self._bar.refresh()

    def update(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        """End the bar's line with a newline (a bar never lingers half-drawn)."""
        if self._bar is not None:
            bar, self._bar = self._bar, None
            bar.close()

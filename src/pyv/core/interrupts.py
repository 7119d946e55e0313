"""Ctrl-C that is never lost.

Python turns SIGINT into ``KeyboardInterrupt`` wherever the main thread is, and drops an
exception raised inside a weakref callback or ``__del__`` ("Exception ignored in …"):
a Ctrl-C that lands while an import releases its module lock vanishes, and an install
goes on to publish. The CLI's handler also remembers the signal; the installer asks
:func:`check` before it publishes, so a swallowed Ctrl-C still stops it there.
"""

from __future__ import annotations

import signal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

_seen: list[bool] = [False]


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _seen[0] = True
    raise KeyboardInterrupt


def remember_sigint() -> None:
    """Handle SIGINT as Python does, and remember it (only when Python's own handler is
    in place: a caller that ignores SIGINT, or handles it, keeps its choice)."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C came whose exception was dropped."""
    if _seen[0]:
        raise KeyboardInterrupt

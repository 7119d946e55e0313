"""The resume decision: what to do with a response to a (possibly ranged) GET.

:func:`decide` is pure: given how many bytes we already hold, what we learnt
from earlier responses and the new response's status and headers, it says
whether to read the body (dropping how many leading bytes), start over, stop
because the file is complete, or fail. The stream carries the decision out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pyv.acquire.download.retry import retryable_status

Action = Literal[
    "read",  # read the body, after dropping ``skip`` leading bytes
    "restart",  # the body is the whole file: forget the bytes held, read it from 0
    "reopen",  # forget the bytes held and ask again from byte 0
    "complete",  # nothing more to read: the bytes held are the whole file
    "retry",  # a status worth another attempt (429, 5xx)
    "changed",  # the file on the server is not the one we hold bytes of
    "bad-range",  # a 206 that does not continue where we asked
    "fail",  # any other status
]


@dataclass(frozen=True)
class Resume:
    """What to do with one response; ``total`` and ``validator`` as now known."""

    action: Action
    skip: int = 0
    total: int | None = None
    validator: str | None = None


def content_range(value: str) -> tuple[int | None, int | None]:
    """``(start, total)`` from ``bytes a-b/total`` or ``bytes */total``."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value or "")
    if not match:
        return None, None
    start = int(match.group(1)) if match.group(1) is not None else None
    total = int(match.group(2)) if match.group(2) != "*" else None
    return start, total


def content_length(headers: Mapping[str, str]) -> int | None:
    """The body's size, unless an encoding makes it differ from the file's."""
    value = headers.get("content-length")
    if value is None or headers.get("content-encoding", "identity") != "identity":
        return None
    try:
        return int(value)
    except ValueError:
        return None


def validator_of(headers: Mapping[str, str]) -> str | None:
    """A strong ETag, else Last-Modified: what ``If-Range`` may carry."""
    etag = headers.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("last-modified")


def decide(offset: int, status: int, headers: Mapping[str, str], *,
           total: int | None = None, validator: str | None = None,
           restartable: bool = True) -> Resume:
    """Decide about a response to a GET sent with ``Range: bytes=offset-`` (none if 0).

    ``headers`` have lower-case names. ``total`` and ``validator`` are what
    earlier responses for the same download said (``None``: nothing yet);
    ``restartable`` is false once bytes were handed on, so starting over is
    no longer possible.
    """
    if retryable_status(status):
        return Resume("retry", total=total, validator=validator)
    start, range_total = content_range(headers.get("content-range", ""))
    seen = validator_of(headers)
    if status == 416:
        if range_total is not None and range_total == offset:
            return Resume("complete", total=range_total, validator=validator or seen)
        return Resume("reopen" if restartable and offset > 0 else "changed")
    if status == 206:
        if start is None or start > offset:
            return Resume("bad-range")
        if validator is not None and seen is not None and seen != validator:
            return Resume("changed")  # If-Range should have prevented this 206
        action: Action = "read"
        skip, new_total = offset - start, range_total
    elif status == 200:
        action, skip, new_total = "read", 0, content_length(headers)
        if offset > 0:
            if restartable:
                action = "restart"
            elif validator is not None and seen != validator:
                return Resume("changed")
            else:
                skip = offset  # the same file from its start: drop what we have
    else:
        return Resume("fail")
    if total is not None and new_total is not None and new_total != total:
        return Resume("changed")
    return Resume(action, skip, new_total if new_total is not None else total,
                  validator if validator is not None else seen)

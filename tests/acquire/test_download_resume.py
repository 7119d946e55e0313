"""The resume decision, from a table: (bytes held, response) -> what to do."""

from __future__ import annotations

import pytest

from pyv.acquire.download.resume import Resume, content_range, decide

ETAG = '"abc"'
OTHER = '"def"'


def h(**headers: str) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in headers.items()}


CASES = [
    # fresh download
    ("fresh 200", 0, 200, h(content_length="100", etag=ETAG), {},
     Resume("read", 0, 100, ETAG)),
    ("fresh 200, weak etag: Last-Modified validates", 0, 200,
     h(content_length="100", etag='W/"x"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT"), {},
     Resume("read", 0, 100, "Mon, 01 Jan 2024 00:00:00 GMT")),
    ("fresh 200, gzip: length says nothing", 0, 200,
     h(content_length="60", content_encoding="gzip"), {}, Resume("read", 0, None, None)),
    ("fresh 404", 0, 404, h(), {}, Resume("fail")),
    ("fresh 503", 0, 503, h(), {}, Resume("retry")),
    ("fresh 429", 0, 429, h(), {}, Resume("retry")),
    # resuming a .part of 40 bytes
    ("206 where we asked", 40, 206, h(content_range="bytes 40-99/100", etag=ETAG), {},
     Resume("read", 0, 100, ETAG)),
    ("206 from earlier: skip the overlap", 40, 206, h(content_range="bytes 30-99/100"), {},
     Resume("read", 10, 100, None)),
    ("206 from later: a hole", 40, 206, h(content_range="bytes 50-99/100"), {},
     Resume("bad-range")),
    ("206 without Content-Range", 40, 206, h(), {}, Resume("bad-range")),
    ("206 with another validator", 40, 206, h(content_range="bytes 40-99/100", etag=OTHER),
     {"validator": ETAG, "restartable": False}, Resume("changed")),
    ("206 with another size", 40, 206, h(content_range="bytes 40-119/120"),
     {"total": 100, "restartable": False}, Resume("changed")),
    ("200 to a Range before any byte was used: start over", 40, 200,
     h(content_length="100"), {}, Resume("restart", 0, 100, None)),
    ("200 mid-body, same file: drop what we have", 40, 200, h(content_length="100", etag=ETAG),
     {"validator": ETAG, "total": 100, "restartable": False}, Resume("read", 40, 100, ETAG)),
    ("200 mid-body, another file", 40, 200, h(content_length="100", etag=OTHER),
     {"validator": ETAG, "restartable": False}, Resume("changed")),
    ("416: the .part is the whole file", 100, 416, h(content_range="bytes */100"), {},
     Resume("complete", 0, 100, None)),
    ("416: the .part is too long, nothing used yet", 120, 416, h(content_range="bytes */100"),
     {}, Resume("reopen")),
    ("416 mid-body", 120, 416, h(content_range="bytes */100"), {"restartable": False},
     Resume("changed")),
    ("500 mid-body", 40, 500, h(), {"restartable": False, "total": 100, "validator": ETAG},
     Resume("retry", 0, 100, ETAG)),
]


@pytest.mark.parametrize(("offset", "status", "headers", "known", "expected"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_decide(offset: int, status: int, headers: dict[str, str], known: dict[str, object],
                expected: Resume) -> None:
    assert decide(offset, status, headers, **known) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "expected"), [
    ("bytes 0-9/10", (0, 10)), ("bytes 5-9/*", (5, None)), ("bytes */10", (None, 10)),
    ("items 0-9/10", (None, None)), ("", (None, None)),
])
def test_content_range(value: str, expected: tuple[int | None, int | None]) -> None:
    assert content_range(value) == expected

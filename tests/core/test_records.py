"""Frozen records behave as the frozen dataclasses they stand in for."""

from __future__ import annotations

import dataclasses

import pytest

from pyv.core.records import field, record, replace


@record(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def total(self) -> int:
        return self.x + self.y


@dataclasses.dataclass(frozen=True)
class Plain:
    a: int


def test_constructs_with_defaults_positional_and_keywords() -> None:
    p = Point(1)
    assert (p.x, p.y, p.tags, p.total) == (1, 0, {}, 1)
    assert Point(1, 2) == Point(x=1, y=2)
    assert Point(1).tags is not Point(1).tags  # the factory runs per instance
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Point(1, z=3)


def test_equality_hash_and_repr_follow_the_compared_fields() -> None:
    a, b = Point(1, 2, {"k": "v"}), Point(1, 2)
    assert a == b and hash(a) == hash(b)  # tags are left out of comparison
    assert Point(1, 2) != Point(2, 1)
    assert a != (1, 2)
    assert repr(a) == "Point(x=1, y=2)"
    assert len({a, b, Point(3)}) == 2


def test_is_frozen() -> None:
    p = Point(1)
    with pytest.raises(AttributeError):
        p.x = 2
    with pytest.raises(AttributeError):
        del p.y
    assert p.x == 1


def test_replace_copies_records_and_dataclasses() -> None:
    p = Point(1, 2, {"k": "v"})
    q = replace(p, y=5)
    assert (q.x, q.y, q.tags) == (1, 5, {"k": "v"}) and p.y == 2
    with pytest.raises(TypeError):
        replace(p, z=1)
    assert replace(Plain(1), a=2) == Plain(2)

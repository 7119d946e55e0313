"""Frozen records for the classes every read-only command builds, without :mod:`dataclasses`.

Importing :mod:`dataclasses` pulls :mod:`inspect` (and its ``ast``/``dis``/``tokenize``),
which costs ``pyv find`` more than its work. :func:`record` gives a class what a frozen
dataclass gives it (``__init__`` with defaults, ``__repr__``, ``__eq__``, ``__hash__``,
immutability); type checkers see ``dataclasses.dataclass`` itself, so the classes stay
checked as frozen dataclasses. :func:`replace` works on these records and on dataclasses.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: see pyv.cli.main

__all__ = ["field", "record", "replace"]

if TYPE_CHECKING:
    from dataclasses import dataclass as record
    from dataclasses import field as field
    from dataclasses import replace as replace
else:
    class FrozenRecordError(AttributeError):
        """Assigning to or deleting a field of a frozen record."""

    class _Field:
        __slots__ = ("compare", "default_factory", "repr")

        def __init__(self, default_factory, repr, compare):
            self.default_factory = default_factory
            self.repr = repr
            self.compare = compare

    def field(*, default_factory, repr=True, compare=True):
        """A field whose default is built per instance, optionally left out of repr/eq."""
        return _Field(default_factory, repr, compare)

    def _frozen_setattr(self, name, value):
        raise FrozenRecordError(f"cannot assign to field {name!r}")

    def _frozen_delattr(self, name):
        raise FrozenRecordError(f"cannot delete field {name!r}")

    def _build(cls):
        # Own annotations only: none of these records inherits fields.
        names = list(getattr(cls, "__annotations__", {}))
        params, body, namespace = [], [], {"_set": object.__setattr__}
        shown, compared = [], []
        for name in names:
            value = cls.__dict__.get(name, _build)
            spec = value if isinstance(value, _Field) else None
            if spec is not None:
                delattr(cls, name)  # as dataclasses does: no class attribute for a factory
                namespace[f"_f_{name}"] = spec.default_factory
                params.append(f"{name}=_build")
                body.append(f"_set(self, {name!r}, _f_{name}() if {name} is _build else {name})")
            else:
                if value is _build:
                    params.append(name)
                else:
                    namespace[f"_d_{name}"] = value
                    params.append(f"{name}=_d_{name}")
                body.append(f"_set(self, {name!r}, {name})")
            if spec is None or spec.repr:
                shown.append(name)
            if spec is None or spec.compare:
                compared.append(name)
        namespace["_build"] = _build
        source = (f"def __init__(self, {', '.join(params)}):\n    "
                  + "\n    ".join(body or ["pass"]) + "\n")
        exec(source, namespace)  # one small function per class, as dataclasses compiles
        init = namespace["__init__"]
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        key = tuple(compared)

        def __repr__(self):
            inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
            return f"{type(self).__qualname__}({inner})"

        def __eq__(self, other):
            if other.__class__ is not self.__class__:
                return NotImplemented
            return all(getattr(self, n) == getattr(other, n) for n in key)

        def __hash__(self):
            return hash(tuple(getattr(self, n) for n in key))

        cls.__init__ = init
        cls.__repr__ = __repr__
        cls.__eq__ = __eq__
        cls.__hash__ = __hash__
        cls.__setattr__ = _frozen_setattr
        cls.__delattr__ = _frozen_delattr
        cls.__match_args__ = tuple(names)
        cls.__record_fields__ = tuple(names)
        return cls

    def record(cls=None, /, *, frozen=True):
        """Make ``cls`` a frozen record (``frozen`` is accepted for the type checker's sake)."""
        if not frozen:
            raise TypeError("records are always frozen")
        return _build if cls is None else _build(cls)

    def replace(obj, /, **changes):
        """A copy of ``obj`` (a record or a dataclass) with ``changes`` applied."""
        names = getattr(type(obj), "__record_fields__", None)
        if names is None:
            import dataclasses

            return dataclasses.replace(obj, **changes)
        values = {n: getattr(obj, n) for n in names}
        values.update(changes)
        return type(obj)(**values)

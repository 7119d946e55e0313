"""Post-install fix-ups of an extracted interpreter tree.

python-build-standalone records its build machine in the installation: the
``/install`` prefix (or whatever prefix it was built with) and its own clang
toolchain under ``/tools``. These fix-ups run in the staging directory before
it is renamed into place, so paths are rewritten to the FINAL location. They
also add the PEP 668 ``EXTERNALLY-MANAGED`` marker and the usual
``python``/``python3`` links, and give older builds' scripts a relocatable
launcher (:mod:`pyv.acquire.shebangs`). The checks run on a fresh interpreter live in
:mod:`pyv.acquire.checks`.
"""

from __future__ import annotations

import ast
import json
import os
import pprint
import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

from pyv.core.errors import ArchiveError, from_os_error

__all__ = [
    "FixupReport",
    "apply_fixups",
    "interpreter_executable",
    "map_build_tools",
    "rewrite_prefix",
    "stdlib_dir",
]

EXTERNALLY_MANAGED_TEXT = """\
[externally-managed]
Error=This Python interpreter is managed by pyv; do not install packages into it.
 Create a virtual environment with `pyv venv` and install packages there.
"""

_STDLIB_RE = re.compile(r"^(python|pypy)(\d+)\.(\d+)(t?)$")

# Variables naming the C compiler (and commands that start with it) / the C++ one.
_CC_VARS = frozenset({"CC", "LDSHARED", "BLDSHARED", "LINKCC", "CPP", "MAINCC"})
_CXX_VARS = frozenset({"CXX", "LDCXXSHARED"})
# Variables whose build-machine-only flags are dropped.
_FLAG_VARS = (
    _CC_VARS
    | _CXX_VARS
    | frozenset(
        {
            "BASECFLAGS",
            "CCSHARED",
            "CFLAGS",
            "CFLAGS_NODIST",
            "CFLAGSFORSHARED",
            "CONFIGURE_CFLAGS",
            "CONFIGURE_CFLAGS_NODIST",
            "CONFIGURE_CPPFLAGS",
            "CONFIGURE_LDFLAGS",
            "CONFIGURE_LDFLAGS_NODIST",
            "CPPFLAGS",
            "LDFLAGS",
            "LDFLAGS_NODIST",
            "LDLAST",
            "LIBS",
            "OPT",
            "PY_CFLAGS",
            "PY_CFLAGS_NODIST",
            "PY_CORE_CFLAGS",
            "PY_CORE_LDFLAGS",
            "PY_CPPFLAGS",
            "PY_LDFLAGS",
            "PY_LDFLAGS_NODIST",
            "PY_STDMODULE_CFLAGS",
            "SYSLIBS",
        }
    )
)
# Cross compilers python-build-standalone uses for non-native targets.
_CROSS_GCC_RE = re.compile(r"^/usr/bin/[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)+-(gcc|g\+\+)$")
_BUILD_TOOLS = "/tools/"  # python-build-standalone's toolchain and dependency prefix
# Flags that take their value as the next word and only make sense on the build machine.
_FLAGS_WITH_VALUE = frozenset({"-target", "--sysroot", "-isysroot"})
_DROPPED_PREFIXES = ("-fuse-ld=", "--target=", "--sysroot=", "-isysroot=")
_PATH_FLAG_RE = re.compile(r"^(?:-[ILB]|-isystem|-Wl,-rpath,|-Wl,-rpath=|-Wl,-L)(.*)$")


@dataclass(frozen=True)
class FixupReport:
    """What :func:`apply_fixups` changed (paths relative to the tree)."""

    build_prefix: str | None  # the prefix read from the sysconfig data, if any
    rewritten: tuple[str, ...]  # files whose content was rewritten
    tool_variables: tuple[str, ...]  # sysconfig variables whose compiler/flags were mapped
    links: tuple[str, ...]  # symlinks created in bin/
    externally_managed: str | None  # the marker written, if any
    scripts: tuple[str, ...] = ()  # scripts given the relocatable launcher


def apply_fixups(
    tree: Path,
    final_path: Path,
    *,
    implementation: str = "cpython",
    externally_managed: bool = True,
) -> FixupReport:
    """Fix up the extracted installation ``tree`` that will be renamed to ``final_path``."""
    try:
        return _apply(tree, final_path, implementation, externally_managed)
    except OSError as exc:
        raise from_os_error(exc, f"fixing up the installation for {final_path.name}") from None


def _apply(
    tree: Path, final_path: Path, implementation: str, externally_managed: bool
) -> FixupReport:
    stdlib = stdlib_dir(tree, implementation)
    new_prefix = os.fspath(final_path)
    rewritten: list[str] = []
    tool_vars: set[str] = set()
    build_prefix: str | None = None
    # uv's interpreter query and Nuitka recognise a python-build-standalone build by it.
    marker_var = implementation == "cpython"

    if stdlib is not None:
        for data_file in sorted(stdlib.glob("_sysconfigdata_*.py")):
            if not _is_regular(data_file):
                continue
            prefix, changed_vars, changed = _patch_sysconfigdata(data_file, new_prefix, marker_var)
            build_prefix = build_prefix or prefix
            tool_vars.update(changed_vars)
            if changed:
                rewritten.append(_rel(tree, data_file))
                # A stale cached copy would be used if the timestamps happened to match.
                for cached in (stdlib / "__pycache__").glob(f"{data_file.stem}.*.pyc"):
                    cached.unlink()

    if build_prefix and build_prefix != new_prefix:
        text_files: list[Path] = []
        if stdlib is not None:
            text_files += sorted(stdlib.glob("config-*/Makefile"))
        text_files += sorted((tree / "lib" / "pkgconfig").glob("*.pc"))
        text_files += sorted(p for p in (tree / "bin").glob("python*-config") if _is_script(p))
        for path in text_files:
            if _is_regular(path) and _patch_text_file(path, build_prefix, new_prefix, tool_vars):
                rewritten.append(_rel(tree, path))
        if stdlib is not None:
            # 3.14+: the same variables as JSON, and PEP 739's build details.
            json_files = sorted(stdlib.glob("_sysconfig_vars_*.json"))
            json_files += [stdlib / "build-details.json"]
            for path in json_files:
                if _is_regular(path) and _patch_json_file(
                    path, build_prefix, new_prefix, tool_vars, marker_var
                ):
                    rewritten.append(_rel(tree, path))

    marker: str | None = None
    if externally_managed and stdlib is not None:
        marker_path = stdlib / "EXTERNALLY-MANAGED"
        if not marker_path.is_symlink():
            marker_path.write_text(EXTERNALLY_MANAGED_TEXT, encoding="utf-8")
            marker = _rel(tree, marker_path)

    links: list[str] = []
    scripts: list[str] = []
    exe = _checked_executable(tree, implementation, stdlib)
    if exe is not None:
        links = _ensure_links(tree, implementation, stdlib, exe)
        if implementation == "cpython":
            scripts = _relocate_scripts(tree, final_path, stdlib, exe)
    return FixupReport(
        build_prefix=build_prefix,
        rewritten=tuple(rewritten),
        tool_variables=tuple(sorted(tool_vars)),
        links=tuple(links),
        externally_managed=marker,
        scripts=tuple(scripts),
    )


def _relocate_scripts(tree: Path, final_path: Path, stdlib: Path | None, exe: Path) -> list[str]:
    """Older builds' scripts (absolute shebangs, space-unsafe trampolines) made relocatable."""
    from pyv.acquire.shebangs import relocate_scripts

    candidates = sorted((tree / "bin").iterdir())
    if stdlib is not None:
        # Rewritten by the build since 2023-01-14 with a launcher that looks beside itself.
        candidates += sorted(stdlib.glob("config-*/python-config.py"))
    inside = (os.fspath(tree), os.fspath(final_path))
    return [_rel(tree, p) for p in relocate_scripts(tree, exe, candidates, inside)]


def _rel(tree: Path, path: Path) -> str:
    return path.relative_to(tree).as_posix()


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def _is_script(path: Path) -> bool:
    if not _is_regular(path):
        return False
    with open(path, "rb") as fh:
        return fh.read(2) == b"#!"


def stdlib_dir(tree: Path, implementation: str = "cpython") -> Path | None:
    """``lib/python3.X`` (``lib/pypy3.X`` for PyPy): where the stdlib and the marker live."""
    lib = tree / "lib"
    if not lib.is_dir():
        return None
    found = {m.group(1): lib / m.group(0) for m in map(_STDLIB_RE.match, os.listdir(lib)) if m}
    order = ("pypy", "python") if implementation == "pypy" else ("python", "pypy")
    for kind in order:
        if kind in found and found[kind].is_dir():
            return found[kind]
    return None


# --------------------------------------------------------------------------- prefix rewriting


_BOUNDARY_BEFORE = re.compile(r"(?:^|[\s'\"=,:;(])(?:-[A-Za-z]{1,2})?$")


def rewrite_prefix(text: str, old: str, new: str) -> str:
    """Replace the path ``old`` by ``new`` where it starts a path in ``text``.

    A match must begin a word (after whitespace, a quote, ``=``, ``,``, ``:``,
    ``;``, ``(`` or a short flag such as ``-I``/``-L``) and end the prefix
    (followed by ``/``, a separator or the end), so ``/install`` never
    matches inside ``/tools/install`` or ``/installer``.
    """
    if not old or old == new or old not in text:
        return text
    pattern = re.compile(re.escape(old) + r"(?=[/\s'\"=,:;)]|$)")

    def repl(match: re.Match[str]) -> str:
        start = match.start()
        if _BOUNDARY_BEFORE.search(text[max(0, start - 4) : start]):
            return new
        return match.group(0)

    return pattern.sub(repl, text)


# --------------------------------------------------------------------------- build tools


def map_build_tools(name: str, value: str) -> str:
    """Map one sysconfig/Makefile variable from the build machine's toolchain to the host's.

    ``clang``/``/tools/.../clang`` and cross ``gcc`` become ``cc``, their C++
    forms ``c++``, llvm-ar ``ar``; ``-fuse-ld=``, ``--target``, sysroot flags
    and ``/tools/...`` search paths are dropped. Other variables are returned
    unchanged.
    """
    if name == "AR":
        word = value.strip()
        if _BUILD_TOOLS in word or os.path.basename(word) == "llvm-ar":
            return "ar"
        return value
    if name not in _FLAG_VARS:
        return value
    words = value.split()
    out: list[str] = []
    skip_next = False
    changed = False
    for word in words:
        if skip_next:
            skip_next = False
            changed = True
            continue
        mapped = _map_compiler_word(name, word)
        if mapped != word:
            out.append(mapped)
            changed = True
        elif word in _FLAGS_WITH_VALUE:
            skip_next = True
            changed = True
        elif word.startswith(_DROPPED_PREFIXES) or _is_build_tools_path_flag(word):
            changed = True
        else:
            out.append(word)
    return " ".join(out) if changed else value


def _map_compiler_word(name: str, word: str) -> str:
    base = os.path.basename(word)
    build_tool = word == base or word.startswith(_BUILD_TOOLS)  # bare name or /tools/...
    cross = _CROSS_GCC_RE.match(word)
    is_cc = (build_tool and base in ("clang", "musl-clang")) or (cross and base.endswith("-gcc"))
    is_cxx = (build_tool and base == "clang++") or (cross and base.endswith("-g++"))
    if name in _CC_VARS and is_cc:
        return "cc"
    if name in _CXX_VARS and is_cxx:
        return "c++"
    return word


def _is_build_tools_path_flag(word: str) -> bool:
    match = _PATH_FLAG_RE.match(word)
    return bool(match and match.group(1).startswith(_BUILD_TOOLS))


# --------------------------------------------------------------------------- sysconfigdata


def _patch_sysconfigdata(
    path: Path, new_prefix: str, marker: bool
) -> tuple[str | None, set[str], bool]:
    """Rewrite ``build_time_vars`` in place; returns (old prefix, mapped variables, changed)."""
    source = path.read_bytes()
    try:
        module = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise ArchiveError(
            f"cannot fix up {path.name}: it is not valid Python ({exc.msg})",
            "nothing was installed; the archive verified but is broken: install another build",
        ) from None
    node = next(
        (
            stmt.value
            for stmt in module.body
            if isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == "build_time_vars"
        ),
        None,
    )
    if node is None:
        return None, set(), False
    try:
        data = ast.literal_eval(node)
    except ValueError:
        raise ArchiveError(
            f"cannot fix up {path.name}: build_time_vars is not a plain literal",
            "the archive is damaged or not a python-build-standalone build",
        ) from None
    if not isinstance(data, dict):
        return None, set(), False
    old_prefix = data.get("prefix")
    old_prefix = old_prefix.rstrip("/") if isinstance(old_prefix, str) and old_prefix else None
    mapped, changed = _patch_vars(data, old_prefix, new_prefix, marker)
    if changed:
        # Splice the new literal in place of the old one; the rest of the file stays as is.
        start = _byte_offset(source, node.lineno, node.col_offset)
        end = _byte_offset(source, node.end_lineno or node.lineno, node.end_col_offset or 0)
        literal = pprint.pformat(data, indent=1, width=100).encode("utf-8")
        path.write_bytes(source[:start] + literal + source[end:])
    return old_prefix, mapped, changed


def _patch_vars(
    data: dict[object, object], old_prefix: str | None, new_prefix: str, marker: bool
) -> tuple[set[str], bool]:
    """Rewrite sysconfig variables in place; returns (mapped variables, changed)."""
    mapped: set[str] = set()
    changed = False
    for key, value in list(data.items()):
        if not isinstance(value, str):
            continue
        new_value = _rewrite_variable(key, value, old_prefix, new_prefix) if old_prefix else value
        tooled = map_build_tools(key, new_value) if isinstance(key, str) else new_value
        if tooled != new_value:
            mapped.add(str(key))
        if tooled != value:
            data[key] = tooled
            changed = True
    if marker and "PYTHON_BUILD_STANDALONE" not in data:
        data["PYTHON_BUILD_STANDALONE"] = 1
        changed = True
    return mapped, changed


_NEEDS_QUOTES = re.compile(r"[\s'\"\\$`]")


def _rewrite_variable(name: object, value: str, old: str, new: str) -> str:
    """``value`` with the prefix rewritten; in a compiler or flags variable, a path that
    now holds a space (or a quote) is quoted, so setuptools and the shell keep it one word."""
    if name not in _FLAG_VARS or not _NEEDS_QUOTES.search(new):
        return rewrite_prefix(value, old, new)
    words = value.split()
    out = [rewrite_prefix(word, old, new) for word in words]
    if out == words:
        return value
    return " ".join(shlex.quote(n) if n != w else n for n, w in zip(out, words))


def _byte_offset(source: bytes, lineno: int, col: int) -> int:
    """Offset in ``source`` of ast's (1-based line, UTF-8 byte column)."""
    offset = 0
    for _ in range(lineno - 1):
        offset = source.index(b"\n", offset) + 1
    return offset + col


# --------------------------------------------------------------------------- other text files


def _patch_json_file(
    path: Path, old: str, new: str, tool_vars: set[str], marker: bool
) -> bool:
    """Rewrite the prefix in a JSON file (sysconfig variables also get their tools mapped)."""
    try:
        data = json.loads(path.read_bytes())
    except ValueError:
        raise ArchiveError(
            f"cannot fix up {path.name}: it is not valid JSON",
            "nothing was installed; the archive verified but is broken: install another build",
        ) from None
    if path.name.startswith("_sysconfig_vars_") and isinstance(data, dict):
        mapped, changed = _patch_vars(data, old, new, marker)
        tool_vars.update(mapped)
    else:
        patched = _rewrite_strings(data, old, new)
        changed, data = patched != data, patched
    if changed:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return changed


def _rewrite_strings(value: object, old: str, new: str) -> object:
    """``value`` with the prefix rewritten in every string it holds, at any depth."""
    if isinstance(value, str):
        return rewrite_prefix(value, old, new)
    if isinstance(value, list):
        return [_rewrite_strings(item, old, new) for item in value]
    if isinstance(value, dict):
        return {key: _rewrite_strings(item, old, new) for key, item in value.items()}
    return value


_MAKE_VAR_RE = re.compile(r"^([A-Z_][A-Z0-9_]*)=([ \t]*)(.*)$", re.MULTILINE)


#: CPython's ``python-config`` (sh) finds its prefix with unquoted expansions that split
#: a path holding a space (``--prefix`` then prints nothing); their quoted forms.
_CONFIG_SPACE_SAFE = (
    ('RESULT=$(dirname $(cd $(dirname "$1") && pwd -P))',
     'RESULT=$(dirname "$(cd "$(dirname "$1")" && pwd -P)")'),
    ("    echo $RESULT\n", '    echo "$RESULT"\n'),
)


def _patch_text_file(path: Path, old: str, new: str, tool_vars: set[str]) -> bool:
    """Rewrite the prefix (and, in Makefiles, build tools) in a text file; True if changed."""
    raw = path.read_bytes()
    # latin-1 maps bytes 1:1, so files in any encoding survive unchanged.
    text = raw.decode("latin-1")
    old_l1 = old.encode("utf-8").decode("latin-1")
    new_l1 = new.encode("utf-8").decode("latin-1")
    patched = rewrite_prefix(text, old_l1, new_l1)
    if path.name == "Makefile":

        def tools(match: re.Match[str]) -> str:
            name, space, value = match.groups()
            mapped = map_build_tools(name, value)
            if mapped == value:
                return match.group(0)
            tool_vars.add(name)
            return f"{name}={space}{mapped}"

        patched = _MAKE_VAR_RE.sub(tools, patched)
    elif path.name.endswith("-config"):
        for unsafe, safe in _CONFIG_SPACE_SAFE:
            patched = patched.replace(unsafe, safe)
    if patched == text:
        return False
    path.write_bytes(patched.encode("latin-1"))
    return True


# --------------------------------------------------------------------------- links


def _checked_executable(tree: Path, implementation: str, stdlib: Path | None) -> Path | None:
    """The interpreter the stdlib directory names, which must exist (None: no bin/ or stdlib)."""
    match = _STDLIB_RE.match(stdlib.name) if stdlib is not None else None
    if not (tree / "bin").is_dir() or match is None:
        return None
    major, minor, t = match.group(2), match.group(3), match.group(4)
    exe = interpreter_executable(tree, implementation, int(major), int(minor), bool(t))
    if not (tree / exe).exists():
        raise ArchiveError(
            f"the extracted installation has no interpreter at {exe.as_posix()}",
            "the archive does not hold the expected build; report it",
        )
    return exe


def _ensure_links(tree: Path, implementation: str, stdlib: Path | None, exe: Path) -> list[str]:
    bin_dir = tree / "bin"
    match = _STDLIB_RE.match(stdlib.name) if stdlib is not None else None
    if match is None:
        return []
    major, minor = match.group(2), match.group(3)
    target = exe.name
    if implementation == "pypy":
        names = [f"pypy{major}", "pypy", "python", f"python{major}", f"python{major}.{minor}"]
    elif implementation == "graalpy":
        names = ["python", f"python{major}", f"python{major}.{minor}"]
    else:
        names = [f"python{major}", "python"]
    created = []
    for name in names:
        link = bin_dir / name
        if name == target or os.path.lexists(link):
            continue
        os.symlink(target, link)
        created.append(f"bin/{name}")
    return created


def interpreter_executable(
    tree: Path, implementation: str, major: int, minor: int, freethreaded: bool
) -> Path:
    """The interpreter's path relative to the installation, e.g. ``bin/python3.13t``.

    The versioned name is preferred, then the debug builds' ``d`` form
    (``python3.13td``: free-threaded debug builds have no ``python3.13t``;
    their ``PYTHON.json`` names it too, but lies outside the extracted
    ``install/`` subtree), then the first of the usual aliases that exists.
    """
    t = "t" if freethreaded else ""
    if implementation == "pypy":
        candidates = [f"pypy{major}.{minor}", f"pypy{major}", "pypy", f"python{major}"]
    elif implementation == "graalpy":
        candidates = ["graalpy", f"python{major}.{minor}", f"python{major}", "python"]
    else:
        v = f"{major}.{minor}"
        candidates = [f"python{v}{t}", f"python{v}{t}d", f"python{major}{t}", f"python{t}"]
    paths = [Path("bin", name) for name in candidates]
    for rel in paths:
        if os.path.lexists(tree / rel):
            return rel
    return paths[0]

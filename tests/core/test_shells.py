"""Shell integration driven in real shells: bash, zsh, fish, tcsh and dash.

Each shell evals ``pyv init``, cds into a project pinned to one version, runs
``python``, switches with ``pyv shell``, unsets it, and loads completion.
Shells that are not installed are skipped (CI installs them all).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyv.choose.shims import rehash
from pyv.core.settings import load_settings

REAL = ".".join(map(str, sys.version_info[:3]))
REAL_MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"

SCRIPTS = {
    "bash": """
eval "$(pyv init bash)"
cd "$PROJECT/sub dir"
python -c 'import sys; print(sys.version)'
pyv shell {minor}
python -c 'import sys; print(sys.version)'
pyv shell --unset
python -c 'import sys; print(sys.version)'
complete -p pyv >/dev/null && echo COMPLETION-OK
""",
    "zsh": """
autoload -Uz compinit && compinit -u -D
eval "$(pyv init zsh)"
cd "$PROJECT/sub dir"
python -c 'import sys; print(sys.version)'
pyv shell {minor}
python -c 'import sys; print(sys.version)'
pyv shell --unset
python -c 'import sys; print(sys.version)'
(( $+_comps[pyv] )) && echo COMPLETION-OK
""",
    "fish": """
pyv init fish | source
cd "$PROJECT/sub dir"
python -c 'import sys; print(sys.version)'
pyv shell {minor}
python -c 'import sys; print(sys.version)'
pyv shell --unset
python -c 'import sys; print(sys.version)'
complete -C 'pyv pi' | string match -q 'pin*'; and echo COMPLETION-OK
""",
    "tcsh": """
eval "`pyv init tcsh`"
cd "$PROJECT/sub dir"
python -c 'import sys; print(sys.version)'
pyv shell {minor}
python -c 'import sys; print(sys.version)'
pyv shell --unset
python -c 'import sys; print(sys.version)'
complete | grep -q pyv && echo COMPLETION-OK
""",
    "dash": """
eval "$(pyv init sh)"
cd "$PROJECT/sub dir"
python -c 'import sys; print(sys.version)'
pyv shell {minor}
python -c 'import sys; print(sys.version)'
pyv shell --unset
python -c 'import sys; print(sys.version)'
echo COMPLETION-OK
""",
}


@pytest.fixture
def shell_world(fake_python, pyv_home: Path, tmp_path: Path) -> dict[str, str]:
    """A real interpreter (this one, linked into the store) and a fake 3.12 pinned by a project."""
    from fixtures_shims import make_fake_install

    real = make_fake_install(pyv_home / "pythons", REAL, names=[])
    base = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    (real / "bin" / f"python{REAL_MINOR}").symlink_to(base)
    (real / "bin" / "python3").symlink_to(f"python{REAL_MINOR}")
    record = json.loads((real / ".pyv-install.json").read_text())
    assert record["version"] == REAL
    fake_python("3.99.1")
    rehash(load_settings(dict(os.environ)))
    project = tmp_path / "work" / "my prøject"
    (project / "sub dir").mkdir(parents=True)
    (project / ".python-version").write_text("3.99\n")
    # PATH: the basics and a directory holding only the pyv command, as after `pipx install`.
    pyv_bin = tmp_path / "pyv-bin"
    pyv_bin.mkdir()
    (pyv_bin / "pyv").symlink_to(Path(sys.executable).parent / "pyv")
    env = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    env.update({"PATH": f"/usr/bin:/bin:{pyv_bin}", "PROJECT": str(project), "TERM": "dumb"})
    return env


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_shell_integration(shell: str, shell_world: dict[str, str], tmp_path: Path) -> None:
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed (apt-get install {shell})")
    script = tmp_path / f"script.{shell}"
    script.write_text(SCRIPTS[shell].format(minor=REAL_MINOR))
    args = {"bash": [exe, "--norc", "--noprofile"], "zsh": [exe, "-f"],
            "fish": [exe, "--no-config"], "tcsh": [exe, "-f"], "dash": [exe]}[shell]
    env = dict(shell_world)
    if shell == "zsh":
        env["ZDOTDIR"] = str(tmp_path)  # no user zshrc
    result = subprocess.run([*args, str(script)], env=env, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    # Some builds' sys.version breaks its line before the compiler ("...\n[GCC 12.2.0]").
    lines = result.stdout.replace("\n[", " [").splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "", result.stderr
    assert lines[0].startswith("cpython-3.99.1-linux-x86_64-gnu python3 -c"), lines
    assert lines[1].startswith(REAL + " "), lines  # a real interpreter's sys.version
    assert lines[2].startswith("cpython-3.99.1-linux-x86_64-gnu"), lines
    assert lines[3] == "COMPLETION-OK", lines


# ----- pyv.core.shells: the one place shells are named and quoted -------------------------------
@pytest.mark.parametrize("text", ["", "plain/path-1.2_x@%+=:,.", "a b", "it's", "$HOME", "é",
                                  "\ufeff", "a\nb", "!x"])
def test_quote_posix_quotes_as_shlex_and_sh_reads_it_back(text: str) -> None:
    import shlex

    from pyv.core.shells import quote_posix

    if "'" not in text:  # shlex spells an embedded quote '"'"', pyv '\'' (same word)
        assert quote_posix(text) == shlex.quote(text)
    out = subprocess.run(["sh", "-c", f"printf %s {quote_posix(text)}"], capture_output=True,
                         text=True, check=True).stdout
    assert out == text
    assert quote_posix(text, always=True) == "'" + text.replace("'", "'\\''") + "'"


def test_quote_csh_refuses_what_csh_cannot_take() -> None:
    from pyv.core.errors import UsageError
    from pyv.core.shells import quote_csh

    assert quote_csh("/a b/it's") == "'/a b/it'\\''s'"
    for bad in ("/a!b", "/a\nb"):
        with pytest.raises(UsageError):
            quote_csh(bad)


@pytest.mark.parametrize(("shell", "name"), [
    ("/bin/bash", "bash"), ("-zsh", "zsh"), (" /usr/local/bin/fish ", "fish"),
    ("C:/Program Files/PowerShell/pwsh.exe", "pwsh"), ("TCSH", "tcsh"),
])
def test_shell_name(shell: str, name: str) -> None:
    from pyv.core.shells import shell_name

    assert shell_name(shell) == name


def test_detect_shell_keeps_to_the_callers_list() -> None:
    from pyv.core.errors import UsageError
    from pyv.core.shells import detect_shell

    assert detect_shell({"SHELL": "/bin/zsh"}, ("bash", "zsh")) == "zsh"
    assert detect_shell({"SHELL": "/bin/nu"}, ("bash", "zsh"), default="bash") == "bash"
    assert detect_shell({}, ("bash",), default="sh") == "sh"
    with pytest.raises(UsageError, match="SHELL is not set"):
        detect_shell({}, ("bash",))
    with pytest.raises(UsageError, match="unsupported shell 'nu'"):
        detect_shell({"SHELL": "/bin/nu"}, ("bash",))

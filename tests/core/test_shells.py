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

#: What every shell does once the integration is loaded (each line is valid in all five).
STEPS = """
cd "$PROJECT/sub dir"
python -c 'import sys; print(sys.version)'
pyv shell {minor}
python -c 'import sys; print(sys.version)'
pyv shell --unset
python -c 'import sys; print(sys.version)'
"""
#: Per shell: how it loads the integration, then how it shows completion is there.
SCRIPTS = {
    shell: "\n" + load + STEPS + check + "\n"
    for shell, load, check in (
        ("bash", 'eval "$(pyv init bash)"', "complete -p pyv >/dev/null && echo COMPLETION-OK"),
        ("zsh", 'autoload -Uz compinit && compinit -u -D\neval "$(pyv init zsh)"',
         "(( $+_comps[pyv] )) && echo COMPLETION-OK"),
        ("fish", "pyv init fish | source",
         "complete -C 'pyv pi' | string match -q 'pin*'; and echo COMPLETION-OK"),
        ("tcsh", 'eval "`pyv init tcsh`"', "complete | grep -q pyv && echo COMPLETION-OK"),
        ("dash", 'eval "$(pyv init sh)"', "echo COMPLETION-OK"),
    )
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


# ----- init puts the shims first, doctor sees the integration ------------------------------
#: Per shell: the script (eval init, where python is found, python, doctor through the
#: `pyv` function into a file) and how to run it.
_FRONT_BODY = '{where} python\npython\npyv doctor --json > "$OUT"\necho done\n'
FRONT_SCRIPTS = {
    "bash": ('eval "$(pyv init bash)"\n', "command -v", ["--norc", "--noprofile"]),
    "zsh": ('eval "$(pyv init zsh)"\n', "command -v", ["-f"]),
    "fish": ("pyv init fish | source\n", "command -v", ["--no-config"]),
    "tcsh": ('eval "`pyv init tcsh`"\n', "which", ["-f"]),
    "dash": ('eval "$(pyv init sh)"\n', "command -v", []),
}


@pytest.fixture
def other_manager_first(fake_python, pyv_home: Path, tmp_path: Path) -> dict[str, str]:
    """pyv's shims on PATH, but behind another version manager's shims (as after
    `eval "$(pyenv init -)"` ran later in the startup file)."""
    fake_python("3.99.1")
    rehash(load_settings(dict(os.environ)))
    (tmp_path / ".python-version").write_text("3.99\n")
    other = tmp_path / "other manager" / "shims"
    other.mkdir(parents=True)
    (other / "python").write_text("#!/bin/sh\necho other-manager\n")
    (other / "python").chmod(0o755)
    pyv_bin = tmp_path / "pyv-bin"
    pyv_bin.mkdir()
    (pyv_bin / "pyv").symlink_to(Path(sys.executable).parent / "pyv")
    env = {k: v for k, v in os.environ.items() if k != "PYV_VERSION"}
    env.update({"PATH": f"{other}:{pyv_home / 'shims'}:/usr/bin:/bin:{pyv_bin}",
                "TERM": "dumb", "OUT": str(tmp_path / "doctor.json"), "SHELL": "/bin/sh"})
    return env


@pytest.mark.parametrize("shell", sorted(FRONT_SCRIPTS))
def test_init_moves_the_shims_before_another_managers_and_doctor_sees_it(
    shell: str, other_manager_first: dict[str, str], pyv_home: Path, tmp_path: Path
) -> None:
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed (apt-get install {shell})")
    init, where, flags = FRONT_SCRIPTS[shell]
    script = tmp_path / f"front.{shell}"
    script.write_text(init + _FRONT_BODY.format(where=where))
    env = dict(other_manager_first)
    if shell == "zsh":
        env["ZDOTDIR"] = str(tmp_path)
    result = subprocess.run([exe, *flags, str(script)], env=env, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == str(pyv_home / "shims" / "python"), lines
    assert lines[1].startswith("cpython-3.99.1-linux-x86_64-gnu python"), lines
    assert lines[2:] == ["done"], lines
    findings = {f["check"]: f for f in json.loads(Path(env["OUT"]).read_text())["findings"]}
    assert findings["path"]["level"] == "ok", findings["path"]
    integration = "tcsh" if shell == "tcsh" else "sh" if shell == "dash" else shell
    assert findings["shell"] == {
        "check": "shell", "level": "ok", "fix": None, "paths": [],
        "message": f"the {integration} integration is loaded (this pyv ran through its "
                   "`pyv` function)"}


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_init_keeps_path_alone_when_the_shims_come_first(shell: str, pyv_home: Path,
                                                         tmp_path: Path) -> None:
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed")
    shims = pyv_home / "shims"
    cases = {  # PATH before -> PATH after
        f"{shims}:/usr/bin:/bin": f"{shims}:/usr/bin:/bin",
        f"/a:{shims}:/usr/bin:{shims}:/bin": f"{shims}:/a:/usr/bin:/bin",
        "/usr/bin:/bin": f"{shims}:/usr/bin:/bin",
        "/usr/bin::/bin:": f"{shims}:/usr/bin::/bin:",  # empty entries (the cwd) kept
    }
    init = subprocess.run([str(Path(sys.executable).parent / "pyv"), "init", "sh"],
                          capture_output=True, text=True, check=True).stdout
    for before, after in cases.items():
        out = subprocess.run([exe, "-c", f'PATH="$1"; {init}\nprintf %s "$PATH"', "sh", before],
                             capture_output=True, text=True, check=True,
                             env={"HOME": str(tmp_path)}).stdout
        assert out == after, before


def test_tcsh_redirection_after_pyv_stays_the_shells(pyv_home: Path, tmp_path: Path) -> None:
    exe = shutil.which("tcsh")
    if exe is None:
        pytest.skip("tcsh is not installed")
    pyv_bin = tmp_path / "pyv-bin"
    pyv_bin.mkdir()
    (pyv_bin / "pyv").symlink_to(Path(sys.executable).parent / "pyv")
    script = tmp_path / "redirect.tcsh"
    script.write_text('eval "`pyv init tcsh`"\npyv pin --rm >& /dev/null\npyv init sh > out\n'
                      'echo "[$argv]"\n')
    env = {**os.environ, "PATH": f"/usr/bin:/bin:{pyv_bin}"}
    result = subprocess.run([exe, "-f", str(script), "kept", "args"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[kept args]\n"
    assert (tmp_path / "out").read_text().startswith("# pyv shell integration for POSIX sh")


@pytest.mark.parametrize(("shell", "integration"), [
    ("/bin/bash", "bash"), ("/bin/csh", "tcsh"), ("/bin/ksh", "sh"), ("/usr/bin/mksh", "sh"),
    ("/bin/dash", "sh"), ("-zsh", "zsh"),
])
def test_init_integration_for_each_shell_name(shell: str, integration: str) -> None:
    from pyv.choose.shims import check_shell, detect_shell

    assert check_shell(shell) == integration
    assert detect_shell({"SHELL": shell}).shell == integration
    assert detect_shell({"SHELL": shell}).note is None


def test_init_falls_back_to_sh_for_a_shell_it_does_not_know(run_pyv) -> None:
    for shell in ("/usr/bin/nu", ""):
        result = run_pyv("init", env={"SHELL": shell})
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("# pyv shell integration for POSIX sh")
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("warning: ")
        assert "POSIX sh integration" in result.stderr or "POSIX sh one" in result.stderr
    quiet = run_pyv("init", env={"SHELL": "/bin/ksh"})
    assert quiet.stdout.startswith("# pyv shell integration for POSIX sh") and not quiet.stderr
    named = run_pyv("init", "nu")  # a shell named on the command line is taken at its word
    assert named.returncode == 2 and named.stderr.startswith("error: unsupported shell 'nu'")

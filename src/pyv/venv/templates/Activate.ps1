# Made by pyv. Activates this virtual environment in PowerShell:
#     . @@ACTIVATE_PATH@@
# `deactivate` puts back everything this file changes.

function global:deactivate([switch] $NonDestructive) {
    if (Test-Path -Path variable:global:_PyvSavedPath) {
        $env:PATH = $global:_PyvSavedPath
        Remove-Variable -Name _PyvSavedPath -Scope Global
    }
    if (Test-Path -Path variable:global:_PyvSavedPythonHome) {
        $env:PYTHONHOME = $global:_PyvSavedPythonHome
        Remove-Variable -Name _PyvSavedPythonHome -Scope Global
    }
    if (Test-Path -Path function:global:_PyvSavedPrompt) {
        Copy-Item -Path function:global:_PyvSavedPrompt -Destination function:global:prompt
        Remove-Item -Path function:global:_PyvSavedPrompt
    }
    Remove-Item -Path env:VIRTUAL_ENV -ErrorAction SilentlyContinue
    Remove-Item -Path env:VIRTUAL_ENV_PROMPT -ErrorAction SilentlyContinue
    if (-not $NonDestructive) {
        Remove-Item -Path function:global:deactivate
    }
}

# Leave whichever environment is active first.
deactivate -NonDestructive

$env:VIRTUAL_ENV = @@VIRTUAL_ENV@@
$env:VIRTUAL_ENV_PROMPT = @@PROMPT@@

$global:_PyvSavedPath = $env:PATH
$env:PATH = (Join-Path -Path $env:VIRTUAL_ENV -ChildPath '@@BIN@@') + [System.IO.Path]::PathSeparator + $env:PATH

# A PYTHONHOME would point the environment's python at another installation.
if (Test-Path -Path env:PYTHONHOME) {
    $global:_PyvSavedPythonHome = $env:PYTHONHOME
    Remove-Item -Path env:PYTHONHOME
}

if (-not $env:VIRTUAL_ENV_DISABLE_PROMPT) {
    Copy-Item -Path function:prompt -Destination function:global:_PyvSavedPrompt
    function global:prompt {
        "($env:VIRTUAL_ENV_PROMPT) " + (& _PyvSavedPrompt)
    }
}

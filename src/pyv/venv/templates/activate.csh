# Made by pyv. Activates this virtual environment in csh or tcsh:
#     source @@ACTIVATE_PATH@@
# csh has no functions, so `deactivate` is an alias; it puts back everything
# this file changes. Each step is a `test … &&` chain because csh expands a
# whole `if (…) command` line even when the condition is false.

alias deactivate 'test $?_pyv_saved_path != 0 && setenv PATH "$_pyv_saved_path:q" && unset _pyv_saved_path; test $?_pyv_saved_pythonhome != 0 && setenv PYTHONHOME "$_pyv_saved_pythonhome:q" && unset _pyv_saved_pythonhome; test $?_pyv_saved_prompt != 0 && set prompt="$_pyv_saved_prompt:q" && unset _pyv_saved_prompt; unsetenv VIRTUAL_ENV; unsetenv VIRTUAL_ENV_PROMPT; rehash; test "\!*" != "nondestructive" && unalias deactivate'

# Leave whichever environment is active first.
deactivate nondestructive

setenv VIRTUAL_ENV @@VIRTUAL_ENV@@
setenv VIRTUAL_ENV_PROMPT @@PROMPT@@

set _pyv_saved_path="$PATH:q"
setenv PATH "${VIRTUAL_ENV}/@@BIN@@:${PATH}"

if ( $?PYTHONHOME ) then
    set _pyv_saved_pythonhome="$PYTHONHOME:q"
    unsetenv PYTHONHOME
endif

if ( $?prompt ) then
    if ( ! $?VIRTUAL_ENV_DISABLE_PROMPT ) then
        set _pyv_saved_prompt="$prompt:q"
        set prompt="($VIRTUAL_ENV_PROMPT:q) $prompt:q"
    endif
endif

rehash

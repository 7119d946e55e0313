# Made by pyv. Activates this virtual environment in fish:
#     source @@ACTIVATE_PATH@@
# `deactivate` puts back everything this file changes.

function deactivate --description 'Leave the virtual environment'
    if set -q _pyv_saved_path
        set -gx PATH $_pyv_saved_path
        set -e _pyv_saved_path
    end
    if set -q _pyv_saved_pythonhome
        set -gx PYTHONHOME $_pyv_saved_pythonhome
        set -e _pyv_saved_pythonhome
    end
    if functions -q _pyv_saved_fish_prompt
        functions -e fish_prompt
        functions -c _pyv_saved_fish_prompt fish_prompt
        functions -e _pyv_saved_fish_prompt
        functions -e _pyv_restore_status
    end
    set -e VIRTUAL_ENV
    set -e VIRTUAL_ENV_PROMPT
    if test "$argv[1]" != nondestructive
        functions -e deactivate
    end
end

# Leave whichever environment is active first (its own deactivate knows how).
deactivate nondestructive

set -gx VIRTUAL_ENV @@VIRTUAL_ENV@@
set -gx VIRTUAL_ENV_PROMPT @@PROMPT@@

set -g _pyv_saved_path $PATH
set -gx PATH "$VIRTUAL_ENV/@@BIN@@" $PATH

# A PYTHONHOME would point the environment's python at another installation.
if set -q PYTHONHOME
    set -g _pyv_saved_pythonhome $PYTHONHOME
    set -e PYTHONHOME
end

if test -z "$VIRTUAL_ENV_DISABLE_PROMPT"; and functions -q fish_prompt
    functions -c fish_prompt _pyv_saved_fish_prompt
    # The saved prompt may show the last command's status: hand it back unchanged.
    function _pyv_restore_status
        return $argv[1]
    end
    function fish_prompt
        set -l last_status $status
        printf '(%s) ' $VIRTUAL_ENV_PROMPT
        _pyv_restore_status $last_status
        _pyv_saved_fish_prompt
    end
end

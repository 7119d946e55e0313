# pyv shell integration for fish: pyv init fish | source   in ~/.config/fish/config.fish
# Shims first on PATH: added when missing, moved to the front when another directory (say
# another version manager's shims) comes before them.
if test "$PATH[1]" != @SHIMS@
    while contains -- @SHIMS@ $PATH
        set -e PATH[(contains -i -- @SHIMS@ $PATH)]
    end
    set -gx PATH @SHIMS@ $PATH
end
# `pyv shell`, `pyv activate` and `pyv deactivate` print code for this shell to run; every
# other command runs marked as typed in this shell (`pyv doctor` reads the mark).
function pyv --description 'pyv: Python versions, shims and environments'
    switch "$argv[1]"
        case shell activate deactivate
            set -l pyv_code (@PYV@ $argv[1] --eval fish $argv[2..-1])
            or return $status
            printf '%s\n' $pyv_code | source
        case '*'
            set -lx PYV_SHELL_INTEGRATION fish
            @PYV@ $argv
    end
end

# pyv shell integration for fish: pyv init fish | source   in ~/.config/fish/config.fish
if not contains -- @SHIMS@ $PATH
    set -gx PATH @SHIMS@ $PATH
end
# `pyv shell`, `pyv activate` and `pyv deactivate` print code for this shell to run.
function pyv --description 'pyv: Python versions, shims and environments'
    switch "$argv[1]"
        case shell activate deactivate
            set -l pyv_code (@PYV@ $argv[1] --eval fish $argv[2..-1])
            or return $status
            printf '%s\n' $pyv_code | source
        case '*'
            @PYV@ $argv
    end
end

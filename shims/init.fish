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
function __pyv_index_entries
    echo system
    for entry in @INDEX@/*
        string replace -r '.*/' '' -- $entry
    end
end
function __pyv_shim_names
    for entry in @SHIMS@/*
        string replace -r '.*/' '' -- $entry
    end
end
complete -c pyv -f
complete -c pyv -n __fish_use_subcommand -a '@COMMANDS@'
complete -c pyv -n '__fish_seen_subcommand_from init' -a 'bash zsh fish tcsh sh'
complete -c pyv -n '__fish_seen_subcommand_from which exec' -a '(__pyv_shim_names)'
complete -c pyv -n '__fish_seen_subcommand_from pin shell install uninstall find venv activate upgrade' -a '(__pyv_index_entries)'

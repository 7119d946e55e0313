# pyv completion for fish: pyv completion fish | source   (in ~/.config/fish/config.fish)
function __pyv_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    for line in (command pyv _complete -- $words[2..-1] $current 2>/dev/null)
        if test "$line" = __files__
            __fish_complete_path $current
        else
            echo $line
        end
    end
end
complete -c pyv -e
complete -c pyv -f -a '(__pyv_complete)'

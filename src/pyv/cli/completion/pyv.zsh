# pyv completion for zsh: eval "$(pyv completion zsh)" in ~/.zshrc (after compinit)
_pyv() {
    local line files=0
    local -a found
    for line in ${(f)"$(command pyv _complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)"}; do
        if [[ $line == __files__ ]]; then
            files=1
        else
            found+=("$line")
        fi
    done
    (( ${#found} )) && compadd -- "${found[@]}"
    (( files )) && _files
    return 0
}
(( $+functions[compdef] )) && compdef _pyv pyv

# pyv completion for bash: eval "$(pyv completion bash)" in ~/.bashrc
_pyv() {
    local IFS=$'\n' line cur="${COMP_WORDS[COMP_CWORD]}"
    local -a found
    found=($(command pyv _complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
    COMPREPLY=()
    for line in "${found[@]}"; do
        if [ "$line" = __files__ ]; then
            compopt -o filenames 2>/dev/null
            COMPREPLY+=($(compgen -f -- "$cur"))
        else
            COMPREPLY+=("$line")
        fi
    done
}
complete -F _pyv pyv

# pyv shell integration for bash: eval "$(pyv init bash)" in ~/.bashrc
case ":${PATH}:" in
  *:@SHIMS@:*) ;;
  *) PATH=@SHIMS@:${PATH}; export PATH ;;
esac
# `pyv shell`, `pyv activate` and `pyv deactivate` print code for this shell to run.
pyv() {
  case "${1-}" in
    shell|activate|deactivate)
      local pyv_sub__=$1 pyv_code__; shift
      pyv_code__=$(@PYV@ "$pyv_sub__" --eval bash "$@") || return
      eval "$pyv_code__"
      ;;
    *) @PYV@ "$@" ;;
  esac
}
_pyv_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} words=() entry
  if [ "$COMP_CWORD" -eq 1 ]; then
    words=(@COMMANDS@ --help --version)
  else
    case ${COMP_WORDS[1]} in
      init) words=(bash zsh fish tcsh sh) ;;
      which|exec)
        for entry in @SHIMS@/*; do [ -e "$entry" ] && words+=("${entry##*/}"); done ;;
      pin|shell|install|uninstall|find|venv|activate|upgrade)
        words=(system)
        for entry in @INDEX@/*; do [ -e "$entry" ] && words+=("${entry##*/}"); done ;;
      *) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
  fi
  COMPREPLY=($(compgen -W "${words[*]}" -- "$cur"))
}
complete -F _pyv_complete pyv

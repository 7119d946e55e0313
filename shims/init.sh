# pyv shell integration for @WHAT@: @LOAD@ in @WHERE@
# (one template for sh, bash and zsh: shims/init.sh)
# Shims first on PATH: added when missing, moved to the front when another directory (say
# another version manager's shims) comes before them.
case ":${PATH}:" in
  :@SHIMS@:*) ;;
  *)
    pyv_path__=":${PATH}:"
    while :; do
      case $pyv_path__ in
        *:@SHIMS@:*) pyv_path__=${pyv_path__%%:@SHIMS@:*}:${pyv_path__#*:@SHIMS@:} ;;
        *) break ;;
      esac
    done
    pyv_path__=${pyv_path__#:}
    pyv_path__=${pyv_path__%:}
    PATH=@SHIMS@${pyv_path__:+:$pyv_path__}
    export PATH
    unset pyv_path__
    ;;
esac
# `pyv shell`, `pyv activate` and `pyv deactivate` print code for this shell to run; every
# other command runs marked as typed in this shell (`pyv doctor` reads the mark).
pyv() {
  case "${1-}" in
    shell|activate|deactivate)
      @LOCAL@pyv_sub__=$1 pyv_code__=; shift
      pyv_code__=$(@PYV@ "$pyv_sub__" --eval @SHELL@ "$@") || return
      eval "$pyv_code__"
      ;;
    *) PYV_SHELL_INTEGRATION=@SHELL@ @PYV@ "$@" ;;
  esac
}

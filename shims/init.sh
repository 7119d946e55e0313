# pyv shell integration for POSIX sh/dash: eval "$(pyv init sh)" in ~/.profile
case ":${PATH}:" in
  *:@SHIMS@:*) ;;
  *) PATH=@SHIMS@:${PATH}; export PATH ;;
esac
# `pyv shell`, `pyv activate` and `pyv deactivate` print code for this shell to run.
pyv() {
  case "${1-}" in
    shell|activate|deactivate)
      pyv_sub__=$1; shift
      pyv_code__=$(@PYV@ "$pyv_sub__" --eval sh "$@") || return
      eval "$pyv_code__"
      ;;
    *) @PYV@ "$@" ;;
  esac
}

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

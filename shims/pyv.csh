# pyv helper for tcsh/csh, sourced by the `pyv` alias that `pyv init tcsh` defines:
# `pyv shell`, `pyv activate` and `pyv deactivate` print code for this shell to eval.
if ( $#pyv_args__ > 0 ) then
    if ( "$pyv_args__[1]" == "shell" || "$pyv_args__[1]" == "activate" || "$pyv_args__[1]" == "deactivate" ) then
        eval "`$pyv_exe__:q $pyv_args__[1] --eval tcsh $pyv_args__[2-]:q`"
    else
        $pyv_exe__:q $pyv_args__:q
    endif
else
    $pyv_exe__:q
endif
unset pyv_args__

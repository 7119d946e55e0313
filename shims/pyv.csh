# pyv helper for tcsh/csh, sourced by the `pyv` alias that `pyv init tcsh` defines, with
# `pyv` and then the words typed as its arguments (so a redirection typed after them stays
# the shell's). `pyv shell`, `pyv activate` and `pyv deactivate` print code for this shell
# to eval; every other command runs marked as typed in this shell (`pyv doctor` reads it).
if ( $#argv > 1 ) then
    if ( "$argv[2]" == "shell" || "$argv[2]" == "activate" || "$argv[2]" == "deactivate" ) then
        eval "`$pyv_exe__:q $argv[2] --eval tcsh $argv[3-]:q`"
    else
        env PYV_SHELL_INTEGRATION=tcsh $pyv_exe__:q $argv[2-]:q
    endif
else
    env PYV_SHELL_INTEGRATION=tcsh $pyv_exe__:q
endif

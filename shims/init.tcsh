set pyv_exe__=(@PYV@);
alias pyv 'source @CSH_HELPER@ pyv \!*';
complete pyv 'p/1/(@COMMANDS@)/' 'n/init/(bash zsh fish tcsh sh)/';

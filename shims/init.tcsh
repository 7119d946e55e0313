set pyv_exe__=(@PYV@);
alias pyv 'set pyv_args__=(\!*); source @CSH_HELPER@';
complete pyv 'p/1/(@COMMANDS@)/' 'n/init/(bash zsh fish tcsh sh)/';

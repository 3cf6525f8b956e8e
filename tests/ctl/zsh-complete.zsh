# zsh -f zsh-complete.zsh DIR INPUT EXPECT: in an interactive zsh whose
# fpath holds DIR (with _approvalctl and approvalctl), type INPUT and one
# TAB, and wait until the line reads EXPECT (a pattern); the caller's
# timeout fails it when it never does. Prints the line as read.
zmodload zsh/zpty || exit 1
zpty z 'zsh -f -i'
zpty -w z "PATH=$1:\$PATH; fpath=($1 \$fpath); autoload -U compinit; compinit -u; unsetopt beep; PS1='P%% '"
zpty -r z line '*P% *' || exit 1
zpty -w -n z "$2"$'\t'
zpty -r z out "*$3*" || exit 1
print -r -- "$out"
zpty -d z

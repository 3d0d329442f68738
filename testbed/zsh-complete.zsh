# Prints the candidates zsh's completion system offers for a command line, one a line.
# zsh completes only inside its line editor, so this runs an interactive zsh on a
# pseudo-terminal (zsh/zpty), sources the completion script there after compinit, types
# the line and a TAB, and records every match through a compadd wrapper.
# Usage: zsh -f testbed/zsh-complete.zsh SCRIPT 'command line'
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PS1=''; bindkey -e; zle-line-init() { print -n '<zle>' }; zle -N zle-line-init"
zpty -w z "autoload -U compinit && compinit -u -D && source ${(q)1} || print -r -- '<source failed>'"
zpty -w z 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a __hits; builtin compadd -A __hits "$@"; local h; for h in $__hits; do print -r -- "<hit>$h</hit>"; done; builtin compadd "$@"; }'
zpty -w z 'print -r -- "<ready>"'
local line
while zpty -r z line; do
  [[ $line == *'<source failed>'* && $line != *print* ]] && { print -u2 "sourcing $1 failed"; exit 3; }
  [[ $line == *'<ready>'* && $line != *print* ]] && break
done
# Type only once the line editor reads the terminal: typed ahead, the tty itself would take ^U.
zpty -r z line '*<zle>*' || exit 2
zpty -w -n z "$2"$'\t'$'\C-u''print -r -- "<""done>"'$'\n'
while zpty -r z line; do
  [[ $line == *'<done>'* ]] && break
  [[ $line == *'<hit>'* ]] && { line=${line#*<hit>}; print -r -- ${line%%</hit>*}; }
done
zpty -d z

# Readers take LOCK_SH: a reader's lock does not stop another reader.
require flock
sh (flock -s relayers.db sh -c ': > locked; sleep 3') >/dev/null 2>&1 &
sh n=0; while [ ! -e locked ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done; test -e locked
conf relay_db_lock_timeout = 1s
run check 10.11.12.13
unchanged
sub ', \d+s ago;' ', Ns ago;'

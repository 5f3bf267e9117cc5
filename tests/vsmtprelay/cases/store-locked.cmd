# Another writer holds the store's flock past relay_db_lock_timeout: a
# bounded wait, then EX_TEMPFAIL, and the store is left alone.
require flock
conf relay_db_lock_timeout = 1s
sh (flock -x relayers.db sh -c ': > locked; sleep 6') >/dev/null 2>&1 &
sh n=0; while [ ! -e locked ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done; test -e locked
run add 192.0.2.7 906502527

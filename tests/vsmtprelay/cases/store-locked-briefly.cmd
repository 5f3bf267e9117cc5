# A lock held for a moment is waited for.
require flock
sh (flock -x relayers.db sh -c ': > locked; sleep 0.5') >/dev/null 2>&1 &
sh n=0; while [ ! -e locked ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done; test -e locked
run add 192.0.2.7 906502527
post dump

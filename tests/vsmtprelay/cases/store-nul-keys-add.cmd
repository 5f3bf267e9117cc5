# A store made by makemap -N / postmap (keys with a trailing NUL): dump shows
# 10.1.2.3, so a command must not answer as if it were absent; like add,
# it reports the store and exits EX_DATAERR.
require db5.3_load
fixture none
sh printf '10.1.2.3\\00\n906502527\\00\n' | db5.3_load -T -t hash relayers.db
run add 192.0.2.7 906502527

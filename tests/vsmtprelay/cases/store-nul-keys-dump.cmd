# dump still reads a NUL-key store, so that it can be rebuilt with load.
require db5.3_load
fixture none
sh printf '10.1.2.3\\00\n906502527\\00\n' | db5.3_load -T -t hash relayers.db
run dump
unchanged

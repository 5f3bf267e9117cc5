# A store made by makemap -N / postmap (keys with a trailing NUL): delete
# removes the NUL-terminated key (deleting never mixes key styles).
require db5.3_load
fixture none
sh printf '10.1.2.3\\00\n906502527\\00\n10.1.2.4\\00\n906502527\\00\n' | db5.3_load -T -t hash relayers.db
run delete 10.1.2.3
post dump

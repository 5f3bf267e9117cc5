# load rebuilds a NUL-key store, as add's message advises.
require db5.3_load
fixture none
sh printf '10.1.2.3\\00\n253402300799\\00\n' | db5.3_load -T -t hash relayers.db
sh "$VSMTPRELAY" -c setup.conf -f "$STORE" dump > saved.txt
run load saved.txt
post dump
post check 10.1.2.3
sub ', \d+s in the future;' ', Ns in the future;'

# A store made by makemap -N / postmap (keys with a trailing NUL): dump shows
# 10.1.2.3, and sendmail and Postfix read such keys, so check must find it
# too (only writes that would mix the two key styles are refused).
require db5.3_load
fixture none
sh printf '10.1.2.3\\00\n906502527\\00\n' | db5.3_load -T -t hash relayers.db
run check 10.1.2.3
sub ', \d+s ago;' ', Ns ago;'

# A foreign map with a value of 3 MiB, larger than the bulk read buffer of
# a scan (1 MiB): the scan grows its buffer and goes on.
require db5.3_load
fixture none
sh python3 -c 'import sys; sys.stdout.write("10.1.2.3\n" + "x" * 3145728 + "\n10.1.2.4\n906502527\n")' | db5.3_load -T -t hash relayers.db
run dump
unchanged

# Entries vsmtprelay never writes (made by hand with db5.3_load): a value
# that is not a timestamp, keys that cannot be printed as one field.
require db5.3_load
fixture none
sh printf '10.1.2.3\nsoon\n10.1.2.4\n906502527\nbad key\n5\n#x\n6\n192.0.2.1\n\n' | db5.3_load -T -t hash relayers.db
run list
unchanged

# The same address twice (here in its two IPv6 forms and twice as IPv4):
# it was in the store, so nothing is "not in the store".
run delete 10.11.12.13 2001:db8::5 10.11.12.13 2001:db8:0:0:0:0:0:5
post dump

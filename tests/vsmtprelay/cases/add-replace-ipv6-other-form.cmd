# The fixture's 2001:db8::5, given in its full form: both keys change.
run add 2001:db8:0:0:0:0:0:5 1500000000
post dump

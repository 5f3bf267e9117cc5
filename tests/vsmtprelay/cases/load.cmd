# The whole store is replaced: the fixture is gone.
file grants.txt
# timestamp (UTC): Tue Sep 22 22:15:27 1998
10.11.12.13 906502527
# timestamp (UTC): Fri Dec 31 23:59:59 9999
192.0.2.7 253402300799
end
run load grants.txt
post dump

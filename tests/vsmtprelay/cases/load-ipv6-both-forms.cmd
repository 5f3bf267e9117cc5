# The two keys of one address, as dump prints them: one grant.
file grants.txt
# timestamp (UTC): Tue Sep 22 22:15:27 1998
2001:db8:0:0:0:0:0:7 906502527
# timestamp (UTC): Tue Sep 22 22:15:27 1998
2001:db8::7 906502527
end
run load grants.txt
post dump

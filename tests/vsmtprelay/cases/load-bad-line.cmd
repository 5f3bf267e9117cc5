file grants.txt
# timestamp (UTC): Tue Sep 22 22:15:27 1998
10.1.2.3 906502527

bogus
192.0.2.7 5
end
run load grants.txt

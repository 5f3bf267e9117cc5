conf never_relay = 10.0.0.0/8
file grants.txt
192.0.2.7 906502527
10.1.2.3 906502527
end
run load grants.txt

conf never_relay = 10.0.0.0/8, 2001:db8:1::/48
run add 10.1.2.3 906502527

conf never_relay = 10.0.0.0/8, 10.1.2.3/8
run add 192.0.2.7 906502527

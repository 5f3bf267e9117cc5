fixture none
run add 192.0.2.7 906502527
post dump

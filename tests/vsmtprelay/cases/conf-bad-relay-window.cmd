conf relay_window = 30x
run add 192.0.2.7 906502527

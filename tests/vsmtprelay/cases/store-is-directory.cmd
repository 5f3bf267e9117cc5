fixture none
sh mkdir relayers.db
run add 192.0.2.7 906502527

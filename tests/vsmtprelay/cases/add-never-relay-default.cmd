# The default never_relay: 0.0.0.0/8, 224.0.0.0/4, 255.255.255.255/32, ::/128, ff00::/8
run add 0.1.2.3

conf never_relay = 10.0.0.0/8, 2001:db8:1::/48
run add IPv6:2001:DB8:1::9

run add IPv6:192.0.2.7

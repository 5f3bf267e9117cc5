run add 192.0.2.7 -5

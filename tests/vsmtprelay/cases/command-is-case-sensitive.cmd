run ADD 192.0.2.7

run add fe80::1%eth0

run delete IPv6:2001:DB8:0:0:0:0:0:5
post dump

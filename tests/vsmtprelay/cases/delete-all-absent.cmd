run delete 203.0.113.1 2001:DB8::99
post dump

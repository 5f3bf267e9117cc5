run add 203.0.113.9 0
post dump

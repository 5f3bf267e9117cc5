run add 203.0.113.9 906502527
post dump

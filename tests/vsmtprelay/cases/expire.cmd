# Without n: every entry that is not stamped in the future goes.
setup add 192.0.2.7
run expire
post dump

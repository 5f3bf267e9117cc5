# add replaces whatever is stored, even with an older time.
run add 10.11.12.13 5
post dump

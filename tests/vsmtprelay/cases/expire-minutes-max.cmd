# The largest n: nothing is that old.
run expire 4223371679
post dump

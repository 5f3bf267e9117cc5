# Sorted by time, then key; future-stamped entries too.
run dump
unchanged

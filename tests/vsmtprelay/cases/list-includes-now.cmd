# An entry stamped now is not in the future: it is listed.
setup add 192.0.2.7
run list
unchanged

setup add 192.0.2.7
run -q check 192.0.2.7
unchanged

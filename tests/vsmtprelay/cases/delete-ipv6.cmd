# Both keys of the address go.
run delete 2001:db8::5
post dump

fixture none
setup add 192.0.2.7 5
setup delete 192.0.2.7
run dump
unchanged

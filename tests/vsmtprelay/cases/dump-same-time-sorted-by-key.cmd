fixture none
setup add 192.0.2.9 906502527
setup add 192.0.2.10 906502527
setup add 10.11.12.13 906502527
setup add 2001:db8::10 906502527
setup add 198.51.100.1 906502526
run dump
unchanged

# Every case runs with TZ=XYZ+05:30; this one says so explicitly: times
# are printed in UTC.
fixture none
setup add 10.11.12.13 906502527
sh test "$TZ" = XYZ+05:30
run dump

# The example of the 1999 handbook, exactly.
fixture none
setup add 10.11.12.13 906502527
run dump
unchanged

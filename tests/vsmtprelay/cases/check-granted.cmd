setup add 192.0.2.7
run check 192.0.2.7
unchanged
sub ', \d+s ago;' ', Ns ago;'

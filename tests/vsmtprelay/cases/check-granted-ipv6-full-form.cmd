setup add IPv6:2001:db8::7
run check 2001:DB8:0:0:0:0:0:7
unchanged
sub ', \d+s ago;' ', Ns ago;'

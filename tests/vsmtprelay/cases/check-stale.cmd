run check 10.11.12.13
unchanged
sub ', \d+s ago;' ', Ns ago;'

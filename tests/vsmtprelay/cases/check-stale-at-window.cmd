# granted while now - value < relay_window (30m): 1800s is too old.
setup add 192.0.2.7 {now-1800}
run check 192.0.2.7
unchanged
sub ', \d+s ago;' ', Ns ago;'

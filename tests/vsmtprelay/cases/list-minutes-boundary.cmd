setup add 192.0.2.1 {now-3600}
setup add 192.0.2.2 {now-3480}
run list 60
unchanged

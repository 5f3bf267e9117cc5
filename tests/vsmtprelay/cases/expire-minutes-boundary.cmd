# "at or before the current time minus n minutes"
setup add 192.0.2.1 {now-3600}
setup add 192.0.2.2 {now-3480}
run expire 60
post dump

setup add 192.0.2.1 {now-7200}
setup add 192.0.2.2 {now-600}
setup add 192.0.2.3 {now+600}
run expire 60
post dump

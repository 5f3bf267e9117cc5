# A fresh grant inside never_relay is never honoured.
conf never_relay = 203.0.113.0/24
setup add 203.0.113.7
run check 203.0.113.7
unchanged

# One address is not there: message, exit 1, the others are deleted.
run delete 10.11.12.13 203.0.113.1 198.51.100.25
post dump

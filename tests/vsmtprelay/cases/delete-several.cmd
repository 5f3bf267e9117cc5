run delete 10.11.12.13 192.0.2.99 198.51.100.25
post dump

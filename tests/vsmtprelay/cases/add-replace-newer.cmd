run add 10.11.12.13 1500000000
post dump

run delete 10.11.12.13
post dump

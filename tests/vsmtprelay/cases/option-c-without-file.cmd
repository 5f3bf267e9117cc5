argv -c

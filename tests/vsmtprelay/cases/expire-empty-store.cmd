fixture none
run expire
post dump

run expire 0
post dump

# Without ticks, add stamps the current time.
run add 203.0.113.9
post dump

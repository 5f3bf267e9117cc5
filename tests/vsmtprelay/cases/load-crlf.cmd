file-escaped grants.txt
# made on Windows\r\n10.1.2.3 906502527\r\n\r\n192.0.2.7 1000000000
end
run load grants.txt
post dump

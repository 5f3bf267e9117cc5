file-escaped grants.txt
10.1.2.3 906502527\n10.1.2.4\x00 906502527\n
end
run load grants.txt

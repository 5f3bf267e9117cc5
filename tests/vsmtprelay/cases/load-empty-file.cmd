file empty.txt
end
run load empty.txt
post dump

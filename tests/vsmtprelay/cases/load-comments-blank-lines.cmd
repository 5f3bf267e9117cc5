file grants.txt
# a comment

   # an indented comment
	
10.1.2.3	906502527
  192.0.2.7    1000000000   
#10.9.9.9 5
end
run load grants.txt
post dump

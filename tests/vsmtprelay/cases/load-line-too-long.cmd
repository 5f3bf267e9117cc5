sh { echo '10.1.2.3 906502527'; printf '%01025d\n' 0; } > grants.txt
run load grants.txt

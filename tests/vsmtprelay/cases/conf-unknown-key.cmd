conf
conf frobnicate = 1
run dump

# 8 KiB of binary junk: same as above.
fixture none
sh head -c 8192 /dev/zero | tr '\0' '\377' > relayers.db
run dump

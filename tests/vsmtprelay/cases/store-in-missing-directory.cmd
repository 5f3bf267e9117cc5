# The message names the store the user gave (not an internal temporary
# file) and the exit status is EX_CANTCREAT.
argv -c $CONF -f $DIR/nodir/relayers.db add 192.0.2.7 906502527

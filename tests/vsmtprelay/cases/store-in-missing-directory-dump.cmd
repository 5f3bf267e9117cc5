argv -c $CONF -f $DIR/nodir/relayers.db dump

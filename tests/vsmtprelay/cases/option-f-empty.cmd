argv -c $CONF -f "" dump

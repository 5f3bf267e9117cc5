argv -c $CONF -f

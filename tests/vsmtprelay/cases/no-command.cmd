# Options but no command: the same.
argv -c $CONF -f $STORE

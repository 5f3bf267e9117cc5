# Without -f the store is relay_db of the configuration.
argv -c $CONF dump
unchanged

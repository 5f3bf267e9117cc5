# -f wins over relay_db: the configured store is not touched.
argv -c $CONF -f $DIR/other.db add 192.0.2.7 906502527
unchanged
creates other.db
post -f $DIR/other.db dump

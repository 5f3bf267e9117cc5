# A bad tick is reported even for a never_relay address (usage first).
run add 0.1.2.3 -1

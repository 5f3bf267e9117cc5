#ifndef RELAYGATE_DAEMON_H
#define RELAYGATE_DAEMON_H
/* daemon: the process lifecycle pieces every relaygate daemon shares. */

/* Run in the background: fork (the parent exits 0), start a new session,
 * chdir to /, standard descriptors on /dev/null. Fatal on failure. */
void daemon_detach(void);

#endif

#ifndef RELAYGATE_DIRECTORY_SYNC_H
#define RELAYGATE_DIRECTORY_SYNC_H
/* directory_sync: make a rename or link into a directory durable. */

/* fsync(2) the directory that holds PATH. Returns 0 or an errno value. */
int directory_sync(const char *path);

#endif

#ifndef RELAYGATE_POP3_IPC_H
#define RELAYGATE_POP3_IPC_H
/* pop3_ipc: messages between the relaygate-pop3d master and its children
 * (login, auth and mail processes), one SOCK_SEQPACKET datagram each: a
 * fixed header, a payload and at most one passed descriptor. The master
 * checks every message from a child against what that child may send. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POP3_IPC_PAYLOAD_MAX 32768

enum pop3_ipc_type {
	/* master -> login process */
	POP3_IPC_CONNECTION = 1,	/* struct pop3_ipc_connection + fd */
	POP3_IPC_AUTH_FAILED,		/* the reply line for the client */
	POP3_IPC_HAND_OVER,		/* login accepted: hand the client over */
	/* login process -> master */
	POP3_IPC_AUTH_REQUEST,		/* login_request bytes */
	POP3_IPC_HANDED_OVER,		/* flag byte (1: relaying TLS) +
					 * input read beyond the login; fd */
	POP3_IPC_LOGIN_DONE,		/* the connection ended here; the
					 * login process takes the next one */
	/* master -> auth process */
	POP3_IPC_VERIFY,		/* struct pop3_ipc_verify + request */
	POP3_IPC_GRANT,			/* struct pop3_ipc_grant */
	/* auth process -> master */
	POP3_IPC_VERIFIED,		/* struct pop3_ipc_verified */
	POP3_IPC_GRANTED,		/* the grant's outcome word */
	/* master -> mail process */
	POP3_IPC_SESSION,		/* struct pop3_ipc_session + input; fd */
	POP3_IPC_GO,			/* grant outcome word: answer +OK */
	POP3_IPC_CANCEL,		/* drop the session without a reply */
	POP3_IPC_STOP,			/* idle: exit once the sessions still
					 * sending their last replies are
					 * done; sent only when every session
					 * was reported CLOSED, and no SESSION
					 * follows it */
	/* mail process -> master */
	POP3_IPC_LOCKED,		/* struct pop3_ipc_locked */
	POP3_IPC_CLOSED,		/* the session ended */
};

struct pop3_ipc_header {
	uint32_t type;
	uint32_t conn_id;
};

struct pop3_ipc_message {
	struct pop3_ipc_header header;
	size_t payload_len;
	int fd;				/* passed descriptor, or -1 */
	unsigned char payload[POP3_IPC_PAYLOAD_MAX];
};

#include "address.h"

struct pop3_ipc_connection {
	struct address address;
	char address_text[64];
	bool plaintext_auth_network;	/* in plaintext_auth_networks */
	bool implicit_tls;
	char apop_timestamp[160];
};

struct pop3_ipc_verify {
	char apop_timestamp[160];
	/* followed by the login_request bytes */
};

enum pop3_ipc_verify_result {
	POP3_VERIFY_MATCH,
	POP3_VERIFY_MISMATCH,
	POP3_VERIFY_FAILURE,		/* [SYS/TEMP] */
	POP3_VERIFY_REFUSED,		/* [SYS/PERM]: user set up wrongly */
};

struct pop3_ipc_verified {
	int32_t result;			/* enum pop3_ipc_verify_result */
	uint32_t uid, gid;
	char user[256];
	char method[8];
	bool tls;
	char maildir[4096];
	char control[4096];		/* CONTROL= of mail_location, or "" */
};

struct pop3_ipc_grant {
	struct address address;
	char user[256];
};

struct pop3_ipc_session {
	char user[256];
	char method[8];
	char address_text[64];
	bool tls;
	bool plaintext_auth;		/* USER and SASL PLAIN were offered */
	char maildir[4096];
	char control[4096];		/* where maildirsize is, or "" */
	/* followed by the input read beyond the login */
};

enum pop3_ipc_lock_result {
	POP3_LOCK_OK,
	POP3_LOCK_IN_USE,
	POP3_LOCK_ERROR,
};

struct pop3_ipc_locked {
	int32_t result;			/* enum pop3_ipc_lock_result */
};

/* Send one message; FD (or -1) is passed along. Returns 0 or -1 (errno;
 * EAGAIN when the peer's queue is full and FD_SOCKET is non-blocking). */
int pop3_ipc_send(int socket_fd, enum pop3_ipc_type type, uint32_t conn_id,
		  const void *payload, size_t len, int fd);

/* Send a message whose payload is HEAD (HEAD_LEN) followed by TAIL. */
int pop3_ipc_send2(int socket_fd, enum pop3_ipc_type type, uint32_t conn_id,
		   const void *head, size_t head_len, const void *tail,
		   size_t tail_len, int fd);

/* Receive one message into MSG. Returns 1, 0 at end of file, -1 on error
 * (errno; EAGAIN: nothing there). A truncated message or more than one
 * descriptor is an error (EBADMSG); descriptors that came with it are
 * closed. */
int pop3_ipc_recv(int socket_fd, struct pop3_ipc_message *msg);

#endif

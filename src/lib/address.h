#ifndef RELAYGATE_ADDRESS_H
#define RELAYGATE_ADDRESS_H
/* address: IP addresses and CIDR blocks, parsed only through inet_pton
 * and printed only through inet_ntop (plus sendmail's full IPv6 form). */
#include <stdbool.h>
#include <stddef.h>

/* Longest text form we produce, NUL included (full IPv6 form is 39). */
#define ADDRESS_TEXT_MAX 48

struct address {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char bytes[16];	/* 4 or 16 bytes, network order */
};

struct cidr {
	struct address base;		/* host bits cleared */
	unsigned prefix_len;
};

struct cidr_list {
	struct cidr *items;
	size_t count;
};

/* Parse TEXT (an IPv4 dotted quad or an IPv6 address; an IPv4-mapped
 * IPv6 address becomes IPv4; sendmail's "IPv6:" prefix is accepted).
 * Zone ids, prefixes, brackets and blanks are rejected. Returns 0, or -1
 * with a static description in *error_r. */
int address_parse(const char *text, struct address *addr_r,
		  const char **error_r);

/* Canonical text: dotted quad, or the RFC 5952 form (inet_ntop, lower
 * case) for IPv6. BUF must hold ADDRESS_TEXT_MAX bytes. */
const char *address_format(const struct address *addr, char *buf);

/* sendmail's full IPv6 form (8 groups, no "::", lower case); for IPv4
 * the dotted quad. BUF must hold ADDRESS_TEXT_MAX bytes. */
const char *address_format_full(const struct address *addr, char *buf);

/* Parse "ADDRESS" or "ADDRESS/LEN". Host bits set below the prefix are an
 * error (so "10.1.2.3/8" is rejected as ambiguous). */
int cidr_parse(const char *text, struct cidr *cidr_r, const char **error_r);

/* True when ADDR lies inside CIDR. */
bool cidr_match(const struct cidr *cidr, const struct address *addr);

/* Parse a list of CIDR blocks separated by commas and/or blanks. On error
 * *error_r names the offending item and the problem (static storage). The
 * list owns its memory; release it with cidr_list_free(). */
int cidr_list_parse(const char *text, struct cidr_list *list_r,
		    const char **error_r);

/* The first block of LIST that holds ADDR, or NULL. */
const struct cidr *cidr_list_match(const struct cidr_list *list,
				   const struct address *addr);

/* Format CIDR as "address/len" into BUF (ADDRESS_TEXT_MAX + 4 bytes). */
const char *cidr_format(const struct cidr *cidr, char *buf, size_t size);

/* Release the memory of LIST and empty it. */
void cidr_list_free(struct cidr_list *list);

#endif

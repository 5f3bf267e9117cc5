/* address: canonical IP addresses. Every address that reaches the relay
 * store or a lookup passes through address_parse(); no other code in
 * relaygate interprets address text by hand. */
#include "address.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const unsigned char v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int address_parse(const char *text, struct address *addr_r,
		  const char **error_r)
{
	char buf[ADDRESS_TEXT_MAX];
	size_t len;

	if (text == NULL || *text == '\0') {
		*error_r = "empty address";
		return -1;
	}
	if (strncasecmp(text, "IPv6:", 5) == 0) {
		text += 5;
		if (strchr(text, ':') == NULL) {
			*error_r = "\"IPv6:\" prefix without an IPv6 address";
			return -1;
		}
	}
	len = strlen(text);
	if (len >= sizeof(buf)) {
		*error_r = "address too long";
		return -1;
	}
	if (strchr(text, '%') != NULL) {
		*error_r = "IPv6 zone identifiers are not accepted";
		return -1;
	}
	if (strchr(text, '/') != NULL) {
		*error_r = "a prefix length is not accepted here";
		return -1;
	}
	memcpy(buf, text, len + 1);
	memset(addr_r, 0, sizeof(*addr_r));
	if (strchr(buf, ':') != NULL) {
		if (inet_pton(AF_INET6, buf, addr_r->bytes) != 1) {
			*error_r = "not a valid IPv6 address";
			return -1;
		}
		if (memcmp(addr_r->bytes, v4mapped_prefix,
			   sizeof(v4mapped_prefix)) == 0) {
			memmove(addr_r->bytes, addr_r->bytes + 12, 4);
			memset(addr_r->bytes + 4, 0, 12);
			addr_r->family = AF_INET;
		} else {
			addr_r->family = AF_INET6;
		}
		return 0;
	}
	if (inet_pton(AF_INET, buf, addr_r->bytes) != 1) {
		*error_r = strchr(buf, '.') != NULL
		    ? "not a valid IPv4 address (expected four decimal "
		      "numbers 0-255 without leading zeros, like 192.0.2.7)"
		    : "not an IP address (expected IPv4 like 192.0.2.7 or "
		      "IPv6 like 2001:db8::7)";
		return -1;
	}
	addr_r->family = AF_INET;
	return 0;
}

const char *address_format(const struct address *addr, char *buf)
{
	/* The last result, per thread: a daemon formats the same address
	 * for its lookup and its log line, and inet_ntop is not cheap. */
	static __thread struct address last;
	static __thread char last_text[ADDRESS_TEXT_MAX];
	size_t len = addr->family == AF_INET ? 4 : 16;

	if (last.family == addr->family && last_text[0] != '\0'
	    && memcmp(last.bytes, addr->bytes, len) == 0) {
		memcpy(buf, last_text, ADDRESS_TEXT_MAX);
		return buf;
	}
	if (inet_ntop(addr->family, addr->bytes, buf, ADDRESS_TEXT_MAX) == NULL) {
		snprintf(buf, ADDRESS_TEXT_MAX, "?");
		return buf;
	}
	last = *addr;
	memcpy(last_text, buf, ADDRESS_TEXT_MAX);
	return buf;
}

const char *address_format_full(const struct address *addr, char *buf)
{
	const unsigned char *b = addr->bytes;

	if (addr->family != AF_INET6)
		return address_format(addr, buf);
	snprintf(buf, ADDRESS_TEXT_MAX, "%x:%x:%x:%x:%x:%x:%x:%x",
		 b[0] << 8 | b[1], b[2] << 8 | b[3], b[4] << 8 | b[5],
		 b[6] << 8 | b[7], b[8] << 8 | b[9], b[10] << 8 | b[11],
		 b[12] << 8 | b[13], b[14] << 8 | b[15]);
	return buf;
}

static unsigned address_bits(const struct address *addr)
{
	return addr->family == AF_INET ? 32 : 128;
}

int cidr_parse(const char *text, struct cidr *cidr_r, const char **error_r)
{
	char buf[ADDRESS_TEXT_MAX];
	const char *slash = strchr(text, '/');
	size_t addr_len = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned bits, i;

	if (addr_len >= sizeof(buf)) {
		*error_r = "address too long";
		return -1;
	}
	memcpy(buf, text, addr_len);
	buf[addr_len] = '\0';
	if (address_parse(buf, &cidr_r->base, error_r) < 0)
		return -1;
	if (slash != NULL && strchr(buf, ':') != NULL
	    && cidr_r->base.family == AF_INET) {
		/* An IPv6 prefix length cannot apply to the IPv4 address. */
		*error_r = "write IPv4-mapped blocks as IPv4 (e.g. 192.0.2.0/24)";
		return -1;
	}
	bits = address_bits(&cidr_r->base);
	if (slash == NULL) {
		cidr_r->prefix_len = bits;
		return 0;
	}
	{
		const char *p = slash + 1;
		unsigned len = 0;

		if (*p == '\0') {
			*error_r = "missing prefix length after '/'";
			return -1;
		}
		if (p[0] == '0' && p[1] != '\0') {
			*error_r = "leading zero in prefix length";
			return -1;
		}
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9') {
				*error_r = "prefix length is not a decimal number";
				return -1;
			}
			len = len * 10 + (unsigned)(*p - '0');
			if (len > bits) {
				*error_r = cidr_r->base.family == AF_INET
				    ? "prefix length above 32 for IPv4"
				    : "prefix length above 128 for IPv6";
				return -1;
			}
		}
		cidr_r->prefix_len = len;
	}
	for (i = cidr_r->prefix_len; i < bits; i++) {
		if (cidr_r->base.bytes[i / 8] & (0x80 >> (i % 8))) {
			*error_r = "address has bits set beyond the prefix length";
			return -1;
		}
	}
	return 0;
}

bool cidr_match(const struct cidr *cidr, const struct address *addr)
{
	unsigned full = cidr->prefix_len / 8, rest = cidr->prefix_len % 8;

	if (cidr->base.family != addr->family)
		return false;
	if (memcmp(cidr->base.bytes, addr->bytes, full) != 0)
		return false;
	if (rest != 0) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));

		if ((cidr->base.bytes[full] ^ addr->bytes[full]) & mask)
			return false;
	}
	return true;
}

int cidr_list_parse(const char *text, struct cidr_list *list_r,
		    const char **error_r)
{
	static char bad_message[160];
	struct cidr_list list = { NULL, 0 };
	const char *p = text;

	while (*p != '\0') {
		char item[ADDRESS_TEXT_MAX + 8];
		size_t len;
		struct cidr *grown;
		const char *item_error;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, ", \t");
		if (len >= sizeof(item)) {
			snprintf(bad_message, sizeof(bad_message),
				 "list item too long: \"%.40s...\"", p);
			*error_r = bad_message;
			cidr_list_free(&list);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		p += len;
		grown = realloc(list.items, (list.count + 1) * sizeof(*grown));
		if (grown == NULL) {
			*error_r = "out of memory";
			cidr_list_free(&list);
			return -1;
		}
		list.items = grown;
		if (cidr_parse(item, &list.items[list.count], &item_error) < 0) {
			snprintf(bad_message, sizeof(bad_message),
				 "\"%s\": %s", item, item_error);
			*error_r = bad_message;
			cidr_list_free(&list);
			return -1;
		}
		list.count++;
	}
	*list_r = list;
	return 0;
}

const struct cidr *cidr_list_match(const struct cidr_list *list,
				   const struct address *addr)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		if (cidr_match(&list->items[i], addr))
			return &list->items[i];
	}
	return NULL;
}

const char *cidr_format(const struct cidr *cidr, char *buf, size_t size)
{
	char text[ADDRESS_TEXT_MAX];

	snprintf(buf, size, "%s/%u", address_format(&cidr->base, text),
		 cidr->prefix_len);
	return buf;
}

void cidr_list_free(struct cidr_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

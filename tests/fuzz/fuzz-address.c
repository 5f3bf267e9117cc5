/* fuzz-address: address_parse, cidr_parse and cidr_list_parse on any
 * bytes. Invariants: a parsed address is AF_INET (unused bytes zero, never
 * left as IPv4-mapped IPv6) or AF_INET6; both its text forms re-parse to
 * the same address; a parsed block has no host bits and holds its base;
 * everything formats back to text that parses to the same thing. */
#include "address.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned fuzz_address_bits(const struct address *addr)
{
	return addr->family == AF_INET ? 32 : 128;
}

/* ADDR is well formed: a known family, unused bytes zero. */
static void fuzz_check_address_shape(const struct address *addr)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	size_t i;

	FUZZ_CHECK(addr->family == AF_INET || addr->family == AF_INET6);
	if (addr->family == AF_INET) {
		for (i = 4; i < sizeof(addr->bytes); i++)
			FUZZ_CHECK(addr->bytes[i] == 0);
	} else {
		FUZZ_CHECK(memcmp(addr->bytes, mapped, sizeof(mapped)) != 0);
	}
}

/* Both text forms of ADDR are bounded, lower case, and parse back to it. */
static void fuzz_check_address_round_trip(const struct address *addr)
{
	char text[ADDRESS_TEXT_MAX], full[ADDRESS_TEXT_MAX];
	struct address again;
	const char *error, *p;
	unsigned colons = 0;

	address_format(addr, text);
	FUZZ_CHECK(strlen(text) < ADDRESS_TEXT_MAX);
	FUZZ_CHECK(address_parse(text, &again, &error) == 0);
	FUZZ_CHECK(memcmp(&again, addr, sizeof(again)) == 0);

	address_format_full(addr, full);
	FUZZ_CHECK(strlen(full) <= 39);
	FUZZ_CHECK(address_parse(full, &again, &error) == 0);
	FUZZ_CHECK(memcmp(&again, addr, sizeof(again)) == 0);
	for (p = full; *p != '\0'; p++) {
		FUZZ_CHECK((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')
			   || *p == ':' || *p == '.');
		if (*p == ':')
			colons++;
	}
	for (p = text; *p != '\0'; p++)
		FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'));
	if (addr->family == AF_INET6) {
		FUZZ_CHECK(colons == 7);
		FUZZ_CHECK(strstr(full, "::") == NULL);
	} else {
		FUZZ_CHECK(strcmp(text, full) == 0);
		FUZZ_CHECK(strchr(text, ':') == NULL);
	}
}

/* CIDR is well formed, holds its base, and formats back to itself. */
static void fuzz_check_cidr(const struct cidr *cidr)
{
	char text[ADDRESS_TEXT_MAX + 8];
	struct cidr again;
	const char *error;
	unsigned bits = fuzz_address_bits(&cidr->base), i;

	fuzz_check_address_shape(&cidr->base);
	FUZZ_CHECK(cidr->prefix_len <= bits);
	for (i = cidr->prefix_len; i < bits; i++)
		FUZZ_CHECK((cidr->base.bytes[i / 8] & (0x80 >> (i % 8))) == 0);
	FUZZ_CHECK(cidr_match(cidr, &cidr->base));
	cidr_format(cidr, text, sizeof(text));
	FUZZ_CHECK(cidr_parse(text, &again, &error) == 0);
	FUZZ_CHECK(again.prefix_len == cidr->prefix_len);
	FUZZ_CHECK(memcmp(&again.base, &cidr->base, sizeof(again.base)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct address addr;
	struct cidr cidr;
	struct cidr_list list;
	const char *error;
	char *text;
	size_t i;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	error = NULL;
	if (address_parse(text, &addr, &error) == 0) {
		fuzz_check_address_shape(&addr);
		fuzz_check_address_round_trip(&addr);
		/* an address is also the single-address block */
		FUZZ_CHECK(cidr_parse(text, &cidr, &error) == 0);
		FUZZ_CHECK(cidr.prefix_len == fuzz_address_bits(&addr));
		FUZZ_CHECK(memcmp(&cidr.base, &addr, sizeof(addr)) == 0);
		FUZZ_CHECK(cidr_match(&cidr, &addr));
	} else {
		FUZZ_CHECK(error != NULL);
	}

	error = NULL;
	if (cidr_parse(text, &cidr, &error) == 0)
		fuzz_check_cidr(&cidr);
	else
		FUZZ_CHECK(error != NULL);

	error = NULL;
	if (cidr_list_parse(text, &list, &error) == 0) {
		for (i = 0; i < list.count; i++) {
			fuzz_check_cidr(&list.items[i]);
			FUZZ_CHECK(cidr_list_match(&list, &list.items[i].base)
				   != NULL);
		}
		cidr_list_free(&list);
		FUZZ_CHECK(list.items == NULL && list.count == 0);
	} else {
		FUZZ_CHECK(error != NULL && strlen(error) < 160);
	}
	free(text);
	return 0;
}

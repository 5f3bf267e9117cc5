/* fuzz-config: relaygate_conf_parse_text on any bytes, on top of the
 * defaults. Invariants: an error names "fuzz.conf:" and fits the buffer;
 * an accepted file leaves only valid settings. */
#include "relaygate_conf.h"

#include <stdint.h>
#include <string.h>

#include "config_file.h"
#include "fuzz-check.h"
#include "timespan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relaygate_conf conf;
	const char *init_error = NULL;
	char error[256];
	size_t i;

	FUZZ_CHECK(relaygate_conf_init(&conf, &init_error) == 0);
	memset(error, 'X', sizeof(error));
	/* the text is not NUL-terminated: the parser must honour SIZE */
	if (relaygate_conf_parse_text(&conf, "fuzz.conf", (const char *)data,
				      size, error, sizeof(error)) < 0) {
		FUZZ_CHECK(memchr(error, '\0', sizeof(error)) != NULL);
		FUZZ_CHECK(strncmp(error, "fuzz.conf:", 10) == 0);
	} else {
		FUZZ_CHECK(conf.relay_db != NULL && conf.relay_db[0] == '/');
		FUZZ_CHECK(conf.relay_window > 0
			   && conf.relay_window <= TIMESPAN_MAX_SECONDS);
		FUZZ_CHECK(conf.relay_db_lock_timeout > 0
			   && conf.relay_db_lock_timeout <= 3600);
		FUZZ_CHECK(conf.never_relay_text != NULL);
		FUZZ_CHECK(strlen(conf.relay_db) <= CONFIG_LINE_MAX);
		for (i = 0; i < conf.never_relay.count; i++)
			FUZZ_CHECK(cidr_match(&conf.never_relay.items[i],
					      &conf.never_relay.items[i].base));
		FUZZ_CHECK(conf.plaintext_auth_networks_text != NULL);
		for (i = 0; i < conf.plaintext_auth_networks.count; i++)
			FUZZ_CHECK(cidr_match(
				&conf.plaintext_auth_networks.items[i],
				&conf.plaintext_auth_networks.items[i].base));
	}
	relaygate_conf_free(&conf);
	FUZZ_CHECK(conf.relay_db == NULL && conf.never_relay.items == NULL
		   && conf.plaintext_auth_networks.items == NULL);
	return 0;
}

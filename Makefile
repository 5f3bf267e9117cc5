# relaygate: thin wrapper around Meson. `make`, `make check`, `make demo`,
# `make install` (honours PREFIX and DESTDIR).
PREFIX ?= /usr/local
DESTDIR ?=
MESON ?= meson
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 10

.PHONY: all deps check check-plain check-asan check-fuzz demo demo-stop install clean

all: deps
	@test -f $(BUILD)/build.ninja || $(MESON) setup $(BUILD) --prefix=$(PREFIX) -Dwerror=true
	$(MESON) compile -C $(BUILD)

deps:
	@sh scripts/install-deps.sh build

check:
	@sh scripts/install-deps.sh test
	$(MAKE) check-plain check-asan check-fuzz

check-plain: all
	$(MESON) test -C $(BUILD) --print-errorlogs

check-asan:
	@test -f $(ASAN_BUILD)/build.ninja || $(MESON) setup $(ASAN_BUILD) -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	$(MESON) compile -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MESON) test -C $(ASAN_BUILD) --print-errorlogs --no-suite bench --no-suite slow --no-suite interop

check-fuzz:
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang $(MESON) setup $(FUZZ_BUILD) -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
	$(MESON) compile -C $(FUZZ_BUILD)
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(MESON) test -C $(FUZZ_BUILD) --print-errorlogs --suite fuzz -t 0

demo: all
	@sh scripts/install-deps.sh demo
	sh scripts/demo.sh $(BUILD)

demo-stop:
	sh scripts/demo.sh $(BUILD) stop

install: all
	$(MESON) configure $(BUILD) --prefix=$(PREFIX)
	DESTDIR=$(DESTDIR) $(MESON) install -C $(BUILD) --no-rebuild
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/doc/relaygate
	install -m 0644 contrib/relaygate.conf contrib/cron/vsmtprelay $(DESTDIR)$(PREFIX)/share/doc/relaygate/

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

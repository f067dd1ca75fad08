# Pactum's entry points. Every target installs what is missing first (scripts/install-deps).
#   make run       build Release and start the server on embedded defaults
#   make install   build Release and install pactum as $(DESTDIR)$(PREFIX)/bin/pactum
#   make test      build and run the whole suite through ctest
#   make bench     benchmarks against nginx, dd and plain SQLite in the same run (docs/benchmarks.md)
#   make lint      clang-format check, clang-tidy, cppcheck: zero findings
#   make sanitize  ASan+UBSan build running the suite

BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
JOBS ?= $(shell nproc)
# ctest runs one test more than there are cores: many of them wait on a socket or a child.
TEST_JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
# The suite's scratch directories on tmpfs when it has room (scripts/test-tmpdir).
TEST_TMPDIR ?= $(shell scripts/test-tmpdir)
CMAKE_FLAGS ?=

.PHONY: deps build build-release run install test bench lint format sanitize clean api-docs

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-release: deps
	@cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DPACTUM_BUILD_TESTS=OFF >/dev/null
	@cmake --build build-release -j $(JOBS) --target pactum

run: build-release
	@echo "make run: serving with ./build-release/src/cli/pactum; 'make install' puts pactum on the PATH ($(PREFIX)/bin)"
	@./build-release/src/cli/pactum serve

install: build-release
	@PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" scripts/install-pactum build-release

test: build
	@cd $(BUILD) && TEST_TMPDIR=$(TEST_TMPDIR) ctest --output-on-failure -j $(TEST_JOBS) --timeout 900

bench: build-release
	@cmake --build build-release -j $(JOBS) --target pactum_bench_server pactum_bench_db pactum_bench_file_cipher \
		pactum_bench_audit_verify pactum_bench_json_body
	@echo "== encrypted database vs plain SQLite =="
	@./build-release/bench/pactum_bench_db
	@echo "== stored-file encryption: AES-256-GCM STREAM vs libsodium secretstream =="
	@./build-release/bench/pactum_bench_file_cipher
	@echo "== JSON request bodies: strict parse vs nlohmann's DOM parse =="
	@./build-release/bench/pactum_bench_json_body
	@echo "== HTTPS vs nginx =="
	@scripts/bench-http
	@echo "== logins under load =="
	@scripts/bench-login
	@echo "== documents: 1 GiB upload vs dd, download vs nginx =="
	@scripts/bench-files
	@echo "== audit trail: verifying 1,000,000 events =="
	@./build-release/bench/pactum_bench_audit_verify
	@echo "== audit trail: recording the request and api streams vs not =="
	@JOBS=$(JOBS) scripts/bench-audit
	@echo "== database backups: snapshot vs restic, restore, change-log delay =="
	@JOBS=$(JOBS) scripts/bench-backup

# docs/api.md anew from the endpoint declarations (a test fails while they differ).
api-docs: build
	@PACTUM_UPDATE_API_DOCS=1 $(BUILD)/tests/auth_integration_test \
		--gtest_filter='ApiDescriptionTest.TheReferenceInDocsMatchesTheDeclarations' >/dev/null
	@echo "wrote docs/api.md"

lint: deps
	@scripts/lint

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

sanitize: deps
	@cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPACTUM_SANITIZE=ON >/dev/null
	@cmake --build build-sanitize -j $(JOBS)
	@cd build-sanitize && ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=32 UBSAN_OPTIONS=print_stacktrace=1 \
		TEST_TMPDIR=$(TEST_TMPDIR) ctest --output-on-failure -j $(TEST_JOBS) --timeout 1800

clean:
	rm -rf $(BUILD) build-release build-sanitize build-lint build-bench-noaudit

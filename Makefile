# Strongroom's entry points. CI runs `make test` (.ci/run); `make run` starts the demo on
# http://127.0.0.1:8080.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

.PHONY: install install-test install-bench build run test lint bench bench-webdav bench-nodes bench-s3 bench-ocr bench-replica bench-search bench-import bench-floor bench-backlog bench-scans bench-listing bench-turns clean

# Debian packages and node_modules (idempotent, quiet when there is nothing to do). `install` is
# what running needs; the tests' browsers and WebDAV clients and the benchmark's Apache come with
# `make test` and `make bench` only.
install:
	@bash scripts/install-deps.sh run

install-test:
	@bash scripts/install-deps.sh test

install-bench:
	@bash scripts/install-deps.sh bench

build: install
	npm run --silent build

run: build
	bin/strongroom demo

lint: install
	npm run --silent lint

# PostgreSQL suites use the server on 127.0.0.1:5432, or a throwaway one that is stopped
# afterwards even when tests fail or are interrupted; vitest's exit code is make's. The CLI suites
# run the build just made (STRONGROOM_TEST_CLI=dist) rather than compiling the sources at every spawn.
test: install-test build lint
	@trap 'bash scripts/stop-postgres.sh' EXIT; trap 'exit 130' INT TERM; \
	url="$$(bash scripts/ensure-postgres.sh)"; \
	STRONGROOM_TEST_CLI=dist STRONGROOM_TEST_PG_ADMIN_URL="$$url" npx --no-install vitest run

bench: install-bench build
	@test -d node_modules/tsx || { echo 'make bench: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	node --import tsx bench/run.ts
	@$(MAKE) --no-print-directory bench-floor
	@$(MAKE) --no-print-directory bench-nodes
	@$(MAKE) --no-print-directory bench-replica
	@$(MAKE) --no-print-directory bench-ocr
	@$(MAKE) --no-print-directory bench-search
	@$(MAKE) --no-print-directory bench-import
	@$(MAKE) --no-print-directory bench-backlog
	@$(MAKE) --no-print-directory bench-scans
	@$(MAKE) --no-print-directory bench-listing
	@$(MAKE) --no-print-directory bench-turns

# A file scanned after it is answered, uploaded behind 3,000 small uploads' queued jobs: how long until it is
# readable, and until the offsite replica and the queue catch up (bench/scan-behind-backlog.ts; about a minute).
bench-backlog: install-bench build
	@test -d node_modules/tsx || { echo 'make bench-backlog: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	node --no-warnings --import tsx bench/scan-behind-backlog.ts 3000

# Two uploads scanned after they were answered, a 1 GiB file then at once a 96 MiB one: how long until each is
# readable, scan jobs running side by side (bench/scans-side-by-side.ts; about a minute).
bench-scans: install-bench build
	@test -d node_modules/tsx || { echo 'make bench-scans: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	node --no-warnings --import tsx bench/scans-side-by-side.ts 1024 96

# A folder of 50,000 documents listed over REST by a person cleared for few of them, and by one cleared for all:
# the server's CPU per listing (bench/listing-above-clearance.ts; in-process, about a minute).
bench-listing: install-bench build
	@test -d node_modules/tsx || { echo 'make bench-listing: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	node --no-warnings --import tsx bench/listing-above-clearance.ts 50000

# One council's letter uploaded behind another's bulk upload of 3,000 small files: seconds until a search
# finds it, organisations taking turns in the job queue's lanes (bench/council-behind-backlog.ts; about a minute).
bench-turns: install-bench build
	@test -d node_modules/tsx || { echo 'make bench-turns: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	node --no-warnings --import tsx bench/council-behind-backlog.ts 3000

# Only the WebDAV comparison from `make bench`: Strongroom beside Apache mod_dav and rclone serve webdav over a
# crypt remote, same client and workload, in interleaved rounds (BENCH_ONLY=webdav; BENCH_DAV_ROUNDS, default 3).
bench-webdav: install-bench build
	@test -d node_modules/tsx || { echo 'make bench-webdav: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	BENCH_ONLY=webdav node --no-warnings --import tsx bench/run.ts

# What a 4 KiB upload and download cannot cost less than on this machine: each part the aims ask for
# (HTTP, a clamd scan, a durable blob, encryption, the database row and audit event) done alone, beside
# Apache and rclone crypt measured the same way (bench/small-floor.ts; about a minute). Then the same
# for a 1 GiB download: a bare Node server sending and decrypting, beside Apache (bench/large-floor.ts;
# under a minute).
bench-floor: install-bench
	@test -d node_modules/tsx || { echo 'make bench-floor: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	node --no-warnings --import tsx bench/small-floor.ts
	node --no-warnings --import tsx bench/large-floor.ts

# The S3 store through a whole server, and one vs two web nodes on PostgreSQL (bench/nodes.ts).
bench-nodes: install-bench build
	@test -d node_modules/tsx || { echo 'make bench-nodes: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	@trap 'bash scripts/stop-postgres.sh' EXIT; trap 'exit 130' INT TERM; \
	url="$$(bash scripts/ensure-postgres.sh)"; \
	STRONGROOM_TEST_PG_ADMIN_URL="$$url" node --no-warnings --import tsx bench/nodes.ts

# The search index on both dialects: build rate and query p50/p95 with the permission filter (bench/search.ts).
bench-search: install-bench build
	@test -d node_modules/tsx || { echo 'make bench-search: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	@trap 'bash scripts/stop-postgres.sh' EXIT; trap 'exit 130' INT TERM; \
	url="$$(bash scripts/ensure-postgres.sh)"; \
	STRONGROOM_TEST_PG_ADMIN_URL="$$url" node --no-warnings --import tsx bench/search.ts

# The S3 blob store alone: a 1 GiB streamed put and get against s3rver (about a minute here).
bench-s3: install
	@test -d node_modules/tsx || { echo 'make bench-s3: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	node --expose-gc --no-warnings --import tsx bench/s3-blob-store.ts

# OCR pages per minute through the text extractor beside tesseract alone on the same page image.
bench-ocr: install
	@test -d node_modules/tsx || { echo 'make bench-ocr: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	node --no-warnings --import tsx bench/ocr.ts

# The bulk migration tool: `strongroom import` of 10,000 small files (through the server and straight into the
# data directory) beside the same server's REST small-upload rate (bench/import.ts; a few minutes).
bench-import: install-bench build
	@test -d node_modules/tsx || { echo 'make bench-import: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	node --no-warnings --import tsx bench/import.ts

# Replica lag under a steady small-file load, the replica in a bucket on s3rver (bench/replica-lag.ts; about 2 minutes).
bench-replica: install-bench build
	@test -d node_modules/tsx || { echo 'make bench-replica: tsx is missing (npm install --save-dev tsx)' >&2; exit 1; }
	node --no-warnings --import tsx bench/replica-lag.ts

clean:
	@bash scripts/stop-postgres.sh
	rm -rf dist .tmp test-results

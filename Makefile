# OmenDB top level: builds the Swift library, then the PostgreSQL extension that links it.
#   make             the Swift archive (release)
#   make test        every test: Swift tests and the C ABI test
#   make bench       the learned-index benchmark (KEYS=10000000 by default)
#   make stress      the randomized tests at large sizes

SWIFT ?= swift
SWIFTC := $(shell command -v swiftc)
# The toolchain's static runtime, found from wherever swiftc resolves (never hard-coded).
SWIFT_STATIC := $(realpath $(dir $(realpath $(SWIFTC)))/../lib/swift_static/linux)
ARCHIVE := .build/release/libLearnedIndex.a
# Order matters: swiftrt.o first (it registers the runtime's metadata sections), then the archive, then
# the runtime archives it needs.
SWIFT_LINK := $(SWIFT_STATIC)/x86_64/swiftrt.o $(abspath $(ARCHIVE)) \
	$(addprefix $(SWIFT_STATIC)/,libswiftCore.a libswift_RegexParser.a libswift_StringProcessing.a libswiftSynchronization.a) \
	-lstdc++ -lm -ldl -lpthread
KEYS ?= 10000000

export SWIFT_LINK

.PHONY: all swift test test-swift test-c bench stress clean

all: swift

swift:
	$(SWIFT) build -c release --product LearnedIndex

test: test-swift test-c

test-swift:
	$(SWIFT) test

test-c: Tests/CABI/abi_test
	./Tests/CABI/abi_test

Tests/CABI/abi_test: Tests/CABI/abi_test.c Sources/LearnedIndexC/include/omendb_learned.h swift
	$(CC) -O2 -Wall -Wextra -I Sources/LearnedIndexC/include -o $@ $< $(SWIFT_LINK)

bench:
	$(SWIFT) run -c release learned-bench --keys $(KEYS) --format markdown

stress:
	OMEN_TEST_OPERATIONS=2000000 $(SWIFT) test -c release --filter HotColdTests

clean:
	rm -rf .build Tests/CABI/abi_test

// pgm_peer: the reference PGM-index (its own headers, from the pygm sdist on PyPI) timed on the keys and
// probes learned-bench hands it, so both sides measure the same data in one run.
//
// Input file (little-endian): key count, probe count (u64 each), the sorted keys, the probes. Once it has
// read them it prints "ready", then answers the lines learned-bench sends, one line each:
//   "build E": builds the index of epsilon E (16, 32, 64 or 128) and prints build_ms,model_bytes;
//   "pass E": times one pass of E's index over the probes and prints lookup_ns,checksum, where checksum is
//   the sum of the lower-bound positions found (learned-bench requires it to equal binary search's).
// learned-bench so interleaves these builds and passes with its own, and both sides see the machine at the
// same speed.
#include <pgm/pgm_index.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

using Clock = std::chrono::steady_clock;

static double elapsed_ms(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One epsilon's index over the shared keys.
struct Peer {
    virtual ~Peer() = default;
    virtual void build() = 0;
    virtual void pass() = 0;
};

template <size_t Epsilon>
struct PGMPeer : Peer {
    const std::vector<uint64_t> &keys;
    const std::vector<uint64_t> &probes;
    pgm::PGMIndex<uint64_t, Epsilon> index;

    PGMPeer(const std::vector<uint64_t> &keys, const std::vector<uint64_t> &probes) : keys(keys), probes(probes) {}

    // Times one build and prints build_ms,model_bytes.
    void build() override {
        auto start = Clock::now();
        index = pgm::PGMIndex<uint64_t, Epsilon>(keys.begin(), keys.end());
        double ms = elapsed_ms(start);
        std::printf("%.3f,%zu\n", ms, index.size_in_bytes());
    }

    // Times one pass over the probes and prints lookup_ns,checksum.
    void pass() override {
        uint64_t sum = 0;
        auto start = Clock::now();
        for (uint64_t probe : probes) {
            auto window = index.search(probe);
            sum += uint64_t(std::lower_bound(keys.begin() + window.lo, keys.begin() + window.hi, probe) - keys.begin());
        }
        double ns = elapsed_ms(start) * 1e6 / double(std::max<size_t>(1, probes.size()));
        std::printf("%.3f,%llu\n", ns, (unsigned long long) sum);
    }
};

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: pgm_peer DATA_FILE\n");
        return 2;
    }
    FILE *file = std::fopen(argv[1], "rb");
    uint64_t counts[2];
    if (!file || std::fread(counts, sizeof(uint64_t), 2, file) != 2) {
        std::fprintf(stderr, "pgm_peer: cannot read %s\n", argv[1]);
        return 1;
    }
    std::vector<uint64_t> keys(counts[0]), probes(counts[1]);
    if (std::fread(keys.data(), sizeof(uint64_t), keys.size(), file) != keys.size() ||
        std::fread(probes.data(), sizeof(uint64_t), probes.size(), file) != probes.size()) {
        std::fprintf(stderr, "pgm_peer: %s is truncated\n", argv[1]);
        return 1;
    }
    std::fclose(file);
    // The file may go now.
    std::printf("ready\n");
    std::fflush(stdout);
    std::unique_ptr<Peer> peers[] = {
        std::make_unique<PGMPeer<16>>(keys, probes), std::make_unique<PGMPeer<32>>(keys, probes),
        std::make_unique<PGMPeer<64>>(keys, probes), std::make_unique<PGMPeer<128>>(keys, probes)};
    const int epsilons[] = {16, 32, 64, 128};
    char command[16];
    int epsilon;
    while (std::scanf("%15s %d", command, &epsilon) == 2) {
        auto found = std::find(std::begin(epsilons), std::end(epsilons), epsilon);
        if (found == std::end(epsilons) || (std::strcmp(command, "build") != 0 && std::strcmp(command, "pass") != 0)) {
            std::fprintf(stderr, "pgm_peer: unknown request '%s %d'\n", command, epsilon);
            return 2;
        }
        Peer &peer = *peers[found - std::begin(epsilons)];
        if (std::strcmp(command, "build") == 0) peer.build(); else peer.pass();
        std::fflush(stdout);
    }
    return 0;
}

// pgm_peer: the reference PGM-index (its own headers, from the pygm sdist on PyPI) timed on the keys and
// probes learned-bench hands it, so both sides measure the same data in one run.
//
// Input file (little-endian): key count, probe count (u64 each), the sorted keys, the probes.
// Output, one CSV line per epsilon: structure,build_ms,model_bytes,lookup_ns,checksum, where checksum is the
// sum of the lower-bound positions found (learned-bench requires it to equal binary search's).
#include <pgm/pgm_index.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

using Clock = std::chrono::steady_clock;

static double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

static double elapsed_ms(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Times `builds` builds and `runs` passes over the probes for one epsilon, and prints its row.
template <size_t Epsilon>
static void measure(const std::vector<uint64_t> &keys, const std::vector<uint64_t> &probes, int runs, int builds) {
    std::vector<double> build_times;
    pgm::PGMIndex<uint64_t, Epsilon> index;
    for (int b = 0; b < builds; b++) {
        auto start = Clock::now();
        index = pgm::PGMIndex<uint64_t, Epsilon>(keys.begin(), keys.end());
        build_times.push_back(elapsed_ms(start));
    }
    std::vector<double> lookup_times;
    uint64_t checksum = 0;
    for (int r = 0; r < runs; r++) {
        uint64_t sum = 0;
        auto start = Clock::now();
        for (uint64_t probe : probes) {
            auto window = index.search(probe);
            sum += uint64_t(std::lower_bound(keys.begin() + window.lo, keys.begin() + window.hi, probe) - keys.begin());
        }
        lookup_times.push_back(elapsed_ms(start) * 1e6 / double(std::max<size_t>(1, probes.size())));
        checksum = sum;
    }
    std::printf("pgmref%zu,%.3f,%zu,%.3f,%llu\n", Epsilon, median(build_times), index.size_in_bytes(),
                median(lookup_times), (unsigned long long) checksum);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: pgm_peer DATA_FILE RUNS BUILDS\n");
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
    int runs = std::max(1, std::atoi(argv[2]));
    int builds = std::max(1, std::atoi(argv[3]));
    measure<16>(keys, probes, runs, builds);
    measure<32>(keys, probes, runs, builds);
    measure<64>(keys, probes, runs, builds);
    measure<128>(keys, probes, runs, builds);
    return 0;
}

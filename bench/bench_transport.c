/* bench_transport.c — transport throughput, standalone (see
 * core/transport_bench.h; `rlvr bench transport` runs the same). */
#include "core/transport_bench.h"

int main(int argc, char **argv) { return rlvr_transport_bench_main(argc, argv); }

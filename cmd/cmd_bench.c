/* cmd_bench.c — `rlvr bench <what>`: benchmarks that report figures, each
 * against what it should be compared with. The benchmarks live in their
 * areas (bench/, and the modules they measure); this is their dispatch. */
#include <stdio.h>
#include <string.h>

#include "cmd/bench_model.h"
#include "cmd/bench_step.h"
#include "cmd/cmd.h"
#include "core/transport_bench.h"
#include "verifiers/exec_bench.h"

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} bench_entry;

/* Entries are added here as benchmarks land: {"name", fn, "summary"}. */
static const bench_entry benches[] = {
    {"verify", cmd_bench_verify, "verifications per second: host, pool, per worker"},
    {"transport", rlvr_transport_bench_main, "trajectory and weights MB/s through ZeroMQ (ipc, tcp)"},
    {"exec", rlvr_exec_bench_main, "sandboxed code executions per second (python, lua) vs bare spawn"},
    {"step", cmd_bench_step, "seconds per GRPO step by phase, from runs' metrics.jsonl"},
    {"model", cmd_bench_model, "policy model fwd+bwd, prefill and decode tokens/s (vs bench/torch_model.py)"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
  fprintf(f, "usage: rlvr bench <what> [options]   (rlvr bench <what> --help)\n\nbenchmarks:\n");
  for (int i = 0; benches[i].name; i++) fprintf(f, "  %-10s %s\n", benches[i].name, benches[i].summary);
}

int cmd_bench(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    usage(stdout);
    return EXIT_OK;
  }
  for (int i = 0; benches[i].name; i++)
    if (!strcmp(argv[1], benches[i].name)) return benches[i].run(argc - 1, argv + 1);
  fprintf(stderr, "rlvr bench: unknown benchmark '%s'\n", argv[1]);
  usage(stderr);
  return EXIT_USAGE;
}

/* fuzz_sweep.c — the readers of a sweep's files and of the runs rlvr
 * compare reads, on arbitrary bytes: a damaged or hand-edited file must be
 * an error naming it, never a crash.
 *
 * The first byte picks the file, the rest is its content:
 *   0  SWEEP/sweep.json                (rlvr_sweep_dir_open)
 *   1  SWEEP/run/sweep_state.json      (rlvr_run_status_read, a valid manifest)
 *   2  RUN/metrics.jsonl               (rlvr_compare_load, default metrics)
 *   3  RUN/summary.json next to a valid metrics.jsonl (rlvr_compare_load)
 *   4  RUN/metrics.jsonl again, with named metrics (reward:min and a
 *      summary: value)
 * (RUN/config.lua is not fuzzed here: a config is a program, config.h.)
 * Files go to a directory made once per process, written without fsync. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "experiments/compare.h"
#include "experiments/sweep_dir.h"

static char root[64];

static void remove_root(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
}

static void put(const char *rel, const uint8_t *data, size_t n) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (n) fwrite(data, 1, n, f);
  fclose(f);
}

static const char *manifest =
    "{\"format\": \"rlvr-sweep\", \"version\": 1, \"name\": \"f\", \"spec\": \"/s.lua\", \"base\": null,\n"
    " \"dir\": \"/x\", \"created\": \"2026-01-01T00:00:00Z\", \"command\": [\"/bin/true\"],\n"
    " \"resume_flag\": \"--resume\", \"resume_when\": \"\", \"parallel\": 0, \"sbatch\": [],\n"
    " \"runs\": [{\"name\": \"run\", \"sets\": [\"run.seed=1\"], \"seed\": 1}], \"submissions\": [],\n"
    " \"slurm\": {\"options\": [], \"nodes\": 1, \"signal_seconds\": 120, \"max_running\": 0, \"template\": null}}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!root[0]) {
    snprintf(root, sizeof root, "/tmp/rlvr-fuzz-sweep-%d", (int)getpid());
    char cmd[128];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/sweep/run %s/run", root, root);
    if (system(cmd) != 0) abort();
    atexit(remove_root);
  }
  if (size < 1) return 0;
  int which = data[0] % 5;
  data++, size--;
  char dir[128];
  if (which == 0) {
    put("sweep/sweep.json", data, size);
    snprintf(dir, sizeof dir, "%s/sweep", root);
    rlvr_sweep_dir *d = NULL;
    if (rlvr_sweep_dir_open(&d, dir) == RLVR_OK) {
      for (int i = 0; i < d->sweep->nruns; i++) free(rlvr_sweep_dir_path(d, i, "x"));
      rlvr_sweep_dir_free(d);
    }
  } else if (which == 1) {
    put("sweep/sweep.json", (const uint8_t *)manifest, strlen(manifest));
    put("sweep/run/sweep_state.json", data, size);
    snprintf(dir, sizeof dir, "%s/sweep", root);
    rlvr_sweep_dir *d = NULL;
    if (rlvr_sweep_dir_open(&d, dir) != RLVR_OK) abort(); /* the fixed manifest is valid */
    rlvr_run_status st;
    if (rlvr_run_status_read(d, 0, &st) == RLVR_OK) rlvr_run_status_clear(&st);
    rlvr_sweep_dir_free(d);
  } else {
    const char *summary = "{\"eval\": {\"grpo\": {\"accuracy\": 0.5}}}";
    const char *metrics = "{\"step\": 1, \"reward\": 0.5, \"accuracy\": 0.25}\n";
    if (which == 3) {
      put("run/metrics.jsonl", (const uint8_t *)metrics, strlen(metrics));
      put("run/summary.json", data, size);
    } else {
      put("run/metrics.jsonl", data, size);
      put("run/summary.json", (const uint8_t *)summary, strlen(summary));
    }
    snprintf(dir, sizeof dir, "%s/run", root);
    const char *paths[] = {dir};
    const char *named[] = {"reward:min", "summary:eval.grpo.accuracy"};
    rlvr_compare *c = NULL;
    if (rlvr_compare_load(&c, paths, 1, which == 4 ? named : NULL, which == 4 ? 2 : 0, NULL) == RLVR_OK) {
      FILE *null = fopen("/dev/null", "w");
      rlvr_compare_print_markdown(c, null, 0);
      rlvr_compare_print_csv(c, null, 1);
      fclose(null);
      for (int m = 0; m < c->nmetrics; m++) free(rlvr_compare_svg(c, m));
      rlvr_compare_free(c);
    }
  }
  return 0;
}

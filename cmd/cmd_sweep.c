/* cmd_sweep.c — `rlvr sweep`: expand a sweep spec into runs and run them
 * here or on Slurm; show a sweep's state; resume its unfinished runs.
 *
 * The pieces: experiments/sweep.h (specs), sweep_dir.h (the directory,
 * manifest and run states), runner.h (the supervisor and the local runner),
 * slurm.h (sbatch scripts and the queue), status.h (what --status shows). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/error.h"
#include "core/file.h"
#include "experiments/runner.h"
#include "experiments/slurm.h"
#include "experiments/status.h"
#include "experiments/sweep.h"
#include "experiments/sweep_dir.h"

#ifndef RLVR_SOURCE_DIR
#define RLVR_SOURCE_DIR "."
#endif

static const char *usage =
    "usage: rlvr sweep SPEC.lua [options]            expand the spec and run its runs\n"
    "       rlvr sweep --status SWEEP_DIR [--json]   what each run is doing, and why\n"
    "       rlvr sweep --resume SWEEP_DIR [options]  run (or resubmit) the unfinished runs\n"
    "       rlvr sweep --exec SWEEP_DIR --index I [--set key=value ...] [--command 'CMD']\n"
    "                                                supervise one run (what a Slurm element runs)\n"
    "       rlvr sweep --config-path SWEEP_DIR --index I   print run I's config file\n"
    "\n"
    "A spec is a Lua file returning { base = FILE or {...}, variants = {...},\n"
    "grid = {...}, zip = {...}, seeds = {...}, command = {...}, slurm = {...} }\n"
    "(docs/experiments.md). Each run gets SWEEP_DIR/<run>/ as run.dir and runs\n"
    "  COMMAND... SWEEP_DIR/<run>/sweep_config.lua --set run.dir=SWEEP_DIR/<run> [--resume]\n"
    "with COMMAND `rlvr train` unless the spec or --command says otherwise.\n"
    "\n"
    "  --dir DIR           the sweep directory (default: the spec's dir, else runs/sweeps/NAME)\n"
    "  --dry-run           list the runs and their overrides (with --slurm: print the\n"
    "                      sbatch script); start nothing, write nothing\n"
    "  -j, --jobs N        runs at once here (default: the spec's parallel, else\n"
    "                      cores / run.threads)\n"
    "  --command 'CMD'     each run's program and leading arguments, split on spaces\n"
    "  --slurm             submit one Slurm job array (an element per run) instead\n"
    "  --partition P, --time T, --cpus-per-task N, --mem M, --gres G, --account A,\n"
    "  --qos Q, --constraint C   sbatch options (after the spec's slurm table)\n"
    "  --sbatch-opt OPT    any other sbatch option, repeatable (--sbatch-opt=--exclusive)\n"
    "  --nodes N           nodes per run; N > 1: learner on the first, rollout workers\n"
    "                      on the others (experiments/slurm/multinode.sbatch)\n"
    "  --max-running N     at most N elements at once (--array=...%N)\n"
    "  --signal-seconds S  SIGUSR1 this long before the time limit (default 120): the\n"
    "                      run checkpoints and the element requeues itself\n"
    "  --template FILE     an sbatch template of your own (placeholders: docs/experiments.md)\n"
    "  --no-submit         write the sbatch script but do not submit it\n"
    "  --local             with --resume: run here even though the sweep was on Slurm\n"
    "  --json              with --status: JSON instead of a table\n"
    "\n"
    "Exit status: 0 when every run started here finished (or the array was submitted),\n"
    "1 when one failed or was stopped, 2 for usage errors.\n";

typedef struct {
  const char *spec, *dir, *status_dir, *resume_dir, *exec_dir, *config_path_dir, *command, *template_path;
  int dry_run, jobs, slurm, no_submit, local, json, nodes, max_running, signal_seconds, index;
  char **sbatch; /* from the flags */
  int nsbatch;
  char **sets; /* --set with --exec */
  int nsets;
} sweep_args;

static const struct {
  const char *flag, *sbatch;
} sbatch_flags[] = {
    {"--partition", "--partition"}, {"--time", "--time"},         {"--cpus-per-task", "--cpus-per-task"},
    {"--mem", "--mem"},             {"--gres", "--gres"},         {"--account", "--account"},
    {"--qos", "--qos"},             {"--constraint", "--constraint"},
};

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (!*v || *end || errno || x < lo || x > hi)
    return cmd_usage_error("sweep", "%s: '%s' is not an integer in [%d, %d]", flag, v, lo, hi);
  *out = (int)x;
  return EXIT_OK;
}

static int parse_args(int argc, char **argv, sweep_args *a) {
  memset(a, 0, sizeof *a);
  a->index = -1;
  a->signal_seconds = 120;
  a->sbatch = calloc((size_t)argc + 1, sizeof *a->sbatch);
  a->sets = calloc((size_t)argc + 1, sizeof *a->sets);
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i];
    /* "--flag=value" or "--flag value". */
    const char *eq = strncmp(f, "--", 2) == 0 ? strchr(f, '=') : NULL;
    char flag[64];
    snprintf(flag, sizeof flag, "%.*s", eq ? (int)(eq - f) : (int)strlen(f), f);
#define VALUE()                                                                                    \
  (eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL))
    const char *v = NULL;
    if (!strcmp(flag, "-h") || !strcmp(flag, "--help")) {
      fputs(usage, stdout);
      return -1;
    } else if (!strcmp(flag, "--dry-run")) {
      a->dry_run = 1;
    } else if (!strcmp(flag, "--slurm")) {
      a->slurm = 1;
    } else if (!strcmp(flag, "--no-submit")) {
      a->no_submit = 1;
    } else if (!strcmp(flag, "--local")) {
      a->local = 1;
    } else if (!strcmp(flag, "--json")) {
      a->json = 1;
    } else {
      static const char *valued[] = {"--dir",    "--status",      "--resume",      "--exec",         "--config-path",
                                     "--index",  "-j",            "--jobs",        "--command",      "--template",
                                     "--nodes",  "--max-running", "--signal-seconds", "--sbatch-opt", "--set",
                                     "--partition", "--time",     "--cpus-per-task", "--mem",        "--gres",
                                     "--account", "--qos",        "--constraint"};
      int known = 0;
      for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(flag, valued[k]);
      if (!known) {
        if (f[0] != '-' && !a->spec) {
          a->spec = f;
          continue;
        }
        return cmd_usage_error("sweep", "unknown option or extra argument '%s'", f);
      }
      v = VALUE();
      if (!v) return cmd_usage_error("sweep", "%s needs a value", flag);
      int rc = EXIT_OK;
      if (!strcmp(flag, "--dir")) a->dir = v;
      else if (!strcmp(flag, "--status")) a->status_dir = v;
      else if (!strcmp(flag, "--resume")) a->resume_dir = v;
      else if (!strcmp(flag, "--exec")) a->exec_dir = v;
      else if (!strcmp(flag, "--config-path")) a->config_path_dir = v;
      else if (!strcmp(flag, "--index")) rc = parse_int(flag, v, 0, 1000000, &a->index);
      else if (!strcmp(flag, "-j") || !strcmp(flag, "--jobs")) rc = parse_int(flag, v, 1, 4096, &a->jobs);
      else if (!strcmp(flag, "--command")) a->command = v;
      else if (!strcmp(flag, "--template")) a->template_path = v;
      else if (!strcmp(flag, "--nodes")) rc = parse_int(flag, v, 1, 100000, &a->nodes);
      else if (!strcmp(flag, "--max-running")) rc = parse_int(flag, v, 1, 1000000, &a->max_running);
      else if (!strcmp(flag, "--signal-seconds")) rc = parse_int(flag, v, 1, 1000000, &a->signal_seconds);
      else if (!strcmp(flag, "--sbatch-opt")) a->sbatch[a->nsbatch++] = strdup(v);
      else if (!strcmp(flag, "--set")) a->sets[a->nsets++] = (char *)v;
      else
        for (size_t k = 0; k < sizeof sbatch_flags / sizeof sbatch_flags[0]; k++)
          if (!strcmp(flag, sbatch_flags[k].flag)) {
            size_t n = strlen(sbatch_flags[k].sbatch) + strlen(v) + 2;
            char *o = malloc(n);
            snprintf(o, n, "%s=%s", sbatch_flags[k].sbatch, v);
            a->sbatch[a->nsbatch++] = o;
          }
      if (rc) return rc;
    }
#undef VALUE
  }
  int modes = !!a->spec + !!a->status_dir + !!a->resume_dir + !!a->exec_dir + !!a->config_path_dir;
  if (modes != 1)
    return cmd_usage_error("sweep", modes ? "give one of SPEC.lua, --status, --resume, --exec, --config-path"
                                          : "a sweep spec (SPEC.lua) or --status/--resume SWEEP_DIR is needed");
  if ((a->exec_dir || a->config_path_dir) && a->index < 0)
    return cmd_usage_error("sweep", "--exec and --config-path need --index I");
  if (a->nsets && !a->exec_dir) return cmd_usage_error("sweep", "--set goes with --exec (a spec sets keys itself)");
  return EXIT_OK;
}

static void free_args(sweep_args *a) {
  for (int i = 0; i < a->nsbatch; i++) free(a->sbatch[i]);
  free(a->sbatch);
  free(a->sets);
}

static char *self_exe(void) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return xstrdup("rlvr");
  buf[n] = '\0';
  return xstrdup(buf);
}

/* Runs at once when neither -j nor the spec says: cores / run.threads of
 * the first run (run.threads = 0 means all cores: one at a time). */
static int default_parallel(const rlvr_sweep_dir *d) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores < 1) cores = 1;
  char *path = rlvr_sweep_dir_path(d, 0, "sweep_config.lua");
  rlvr_config c;
  rlvr_config_init(&c);
  long per = cores;
  if (rlvr_config_load(&c, path) == RLVR_OK && c.run_threads > 0) per = (long)c.run_threads;
  rlvr_config_free(&c);
  free(path);
  long p = cores / per;
  return p < 1 ? 1 : (int)p;
}

static int split_command(const char *cmd, rlvr_sweep *s) {
  char *copy = xstrdup(cmd);
  char **words = xcalloc(strlen(cmd) / 2 + 2, sizeof *words);
  int n = 0;
  for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
    words[n++] = xstrdup(w);
  free(copy);
  if (n == 0) {
    free(words);
    return cmd_usage_error("sweep", "--command is empty");
  }
  for (int i = 0; i < s->ncommand; i++) free(s->command[i]);
  free(s->command);
  s->command = words;
  s->ncommand = n;
  return EXIT_OK;
}

static void print_dry_run(const rlvr_sweep *s, const char *dir, FILE *out) {
  fprintf(out, "sweep %s: %d run%s from %s%s%s\n", s->name, s->nruns, s->nruns == 1 ? "" : "s", s->spec_path,
          s->base_path ? " over " : "", s->base_path ? s->base_path : "");
  fprintf(out, "directory: %s\ncommand:", dir);
  for (int i = 0; i < s->ncommand; i++) fprintf(out, " %s", s->command[i]);
  fprintf(out, " %s/<run>/sweep_config.lua --set run.dir=%s/<run>\n\n", dir, dir);
  for (int i = 0; i < s->nruns; i++) {
    fprintf(out, "%4d  %s\n     ", i, s->runs[i].name);
    for (int k = 0; k < s->runs[i].nsets; k++) fprintf(out, " --set %s", s->runs[i].sets[k]);
    fputc('\n', out);
  }
}

/* Slurm settings: the flags, else those recorded by the first submission. */
static void slurm_settings(rlvr_sweep_dir *d, const sweep_args *a, const char *rlvr, rlvr_slurm_options *o) {
  memset(o, 0, sizeof *o);
  if (d->nsubs == 0 && d->nslurm_options == 0) {
    /* First submission: remember the flags for --resume. */
    d->slurm_options = xcalloc((size_t)a->nsbatch + 1, sizeof *d->slurm_options);
    for (int i = 0; i < a->nsbatch; i++) d->slurm_options[i] = xstrdup(a->sbatch[i]);
    d->nslurm_options = a->nsbatch;
    d->slurm_nodes = a->nodes ? a->nodes : 1;
    d->slurm_signal_seconds = a->signal_seconds;
    d->slurm_max_running = a->max_running;
    if (a->template_path) {
      char buf[PATH_MAX];
      d->slurm_template = xstrdup(realpath(a->template_path, buf) ? buf : a->template_path);
    }
    o->sbatch = d->slurm_options;
    o->nsbatch = d->nslurm_options;
  } else {
    /* A resubmission: the recorded options, then any given now (sbatch
     * takes the last of a repeated option). */
    int n = d->nslurm_options + a->nsbatch;
    o->sbatch = xcalloc((size_t)n + 1, sizeof *o->sbatch);
    for (int i = 0; i < d->nslurm_options; i++) o->sbatch[o->nsbatch++] = d->slurm_options[i];
    for (int i = 0; i < a->nsbatch; i++) o->sbatch[o->nsbatch++] = a->sbatch[i];
  }
  o->nodes = a->nodes ? a->nodes : (d->slurm_nodes ? d->slurm_nodes : 1);
  o->signal_seconds = a->signal_seconds != 120 ? a->signal_seconds
                                               : (d->slurm_signal_seconds ? d->slurm_signal_seconds : 120);
  o->max_running = a->max_running ? a->max_running : d->slurm_max_running;
  o->template_path = a->template_path ? a->template_path : d->slurm_template;
  o->templates_dir = RLVR_SOURCE_DIR "/experiments/slurm";
  o->rlvr_bin = rlvr;
}

static int submit(rlvr_sweep_dir *d, const sweep_args *a, const int *idx, int n, const char *rlvr) {
  rlvr_slurm_options o;
  int fresh = d->nsubs == 0 && d->nslurm_options == 0;
  slurm_settings(d, a, rlvr, &o);
  char *script = NULL, *job = NULL;
  int rc = rlvr_slurm_write_script(d, idx, n, &o, &script);
  if (rc == RLVR_OK && a->no_submit) {
    rlvr_sweep_dir_save(d);
    printf("wrote %s (not submitted: sbatch %s)\n", script, script);
  } else if (rc == RLVR_OK && (rc = rlvr_slurm_submit(d, script, idx, n, &job)) == RLVR_OK) {
    char *spec = rlvr_slurm_array_spec(idx, n);
    printf("submitted job %s: %d run%s (array %s), script %s\n", job, n, n == 1 ? "" : "s", spec, script);
    printf("status: rlvr sweep --status %s\n", d->dir);
    free(spec);
  }
  if (!fresh) free(o.sbatch);
  free(script), free(job);
  return rc ? cmd_fail("sweep", "%s", rlvr_error_message()) : EXIT_OK;
}

static int run_here(const rlvr_sweep_dir *d, const sweep_args *a, const int *idx, int n) {
  int parallel = a->jobs ? a->jobs : (d->sweep->parallel ? d->sweep->parallel : default_parallel(d));
  fprintf(stderr, "rlvr sweep: %s: %d run%s, %d at once, in %s\n", d->sweep->name, n, n == 1 ? "" : "s", parallel,
          d->dir);
  rlvr_local_summary sum;
  int rc = rlvr_sweep_run_local(d, idx, n, parallel, stderr, &sum);
  if (rc) return cmd_fail("sweep", "%s", rlvr_error_message());
  fprintf(stderr, "rlvr sweep: %d done, %d failed, %d stopped, %d skipped (rlvr sweep --status %s)\n", sum.done,
          sum.failed, sum.stopped, sum.skipped, d->dir);
  return sum.failed || sum.stopped ? EXIT_FAIL : EXIT_OK;
}

static int cmd_new(const sweep_args *a) {
  rlvr_sweep *s;
  if (rlvr_sweep_load(&s, a->spec) != RLVR_OK) return cmd_fail("sweep", "%s", rlvr_error_message());
  if (a->command && split_command(a->command, s) != EXIT_OK) {
    rlvr_sweep_free(s);
    return EXIT_USAGE;
  }
  char def[512];
  snprintf(def, sizeof def, "runs/sweeps/%s", s->name);
  const char *dir = a->dir ? a->dir : (s->dir ? s->dir : def);
  char *rlvr = self_exe();
  int rc = EXIT_OK;
  if (a->dry_run) {
    print_dry_run(s, dir, stdout);
    if (a->slurm) {
      /* The script as a submission would write it. */
      char absdir[PATH_MAX + 1024], cwd[PATH_MAX];
      if (dir[0] == '/' || !getcwd(cwd, sizeof cwd)) snprintf(absdir, sizeof absdir, "%s", dir);
      else snprintf(absdir, sizeof absdir, "%s/%s", cwd, dir);
      rlvr_sweep_dir d = {.dir = absdir, .sweep = s};
      rlvr_slurm_options o;
      memset(&o, 0, sizeof o);
      o.sbatch = a->sbatch, o.nsbatch = a->nsbatch, o.nodes = a->nodes ? a->nodes : 1;
      o.signal_seconds = a->signal_seconds, o.max_running = a->max_running, o.template_path = a->template_path;
      o.templates_dir = RLVR_SOURCE_DIR "/experiments/slurm", o.rlvr_bin = rlvr;
      int *idx = xmalloc((size_t)s->nruns * sizeof *idx);
      for (int i = 0; i < s->nruns; i++) idx[i] = i;
      char *script = NULL;
      if (rlvr_slurm_script(&d, idx, s->nruns, &o, &script) == RLVR_OK) printf("\n%s", script);
      else rc = cmd_fail("sweep", "%s", rlvr_error_message());
      free(script);
      free(idx);
    }
    rlvr_sweep_free(s);
    free(rlvr);
    return rc;
  }
  rlvr_sweep_dir *d;
  if (rlvr_sweep_dir_create(&d, s, dir, rlvr) != RLVR_OK) {
    free(rlvr);
    return cmd_fail("sweep", "%s", rlvr_error_message());
  }
  int *idx = xmalloc((size_t)d->sweep->nruns * sizeof *idx);
  for (int i = 0; i < d->sweep->nruns; i++) idx[i] = i;
  rc = a->slurm ? submit(d, a, idx, d->sweep->nruns, rlvr) : run_here(d, a, idx, d->sweep->nruns);
  free(idx);
  free(rlvr);
  rlvr_sweep_dir_free(d);
  return rc;
}

static int cmd_status(const sweep_args *a) {
  rlvr_sweep_dir *d;
  if (rlvr_sweep_dir_open(&d, a->status_dir) != RLVR_OK) return cmd_fail("sweep", "%s", rlvr_error_message());
  rlvr_sweep_report r;
  if (rlvr_sweep_report_build(d, 1, &r) != RLVR_OK) {
    rlvr_sweep_dir_free(d);
    return cmd_fail("sweep", "%s", rlvr_error_message());
  }
  if (a->json) rlvr_sweep_report_json(d, &r, stdout);
  else rlvr_sweep_report_print(d, &r, stdout);
  rlvr_sweep_report_free(&r);
  rlvr_sweep_dir_free(d);
  return EXIT_OK;
}

static int cmd_resume(const sweep_args *a) {
  rlvr_sweep_dir *d;
  if (rlvr_sweep_dir_open(&d, a->resume_dir) != RLVR_OK) return cmd_fail("sweep", "%s", rlvr_error_message());
  int on_slurm = !a->local && (a->slurm || d->nsubs > 0);
  rlvr_sweep_report r;
  if (rlvr_sweep_report_build(d, on_slurm, &r) != RLVR_OK) {
    rlvr_sweep_dir_free(d);
    return cmd_fail("sweep", "%s", rlvr_error_message());
  }
  int rc = EXIT_OK;
  if (on_slurm && d->nsubs > 0 && !r.slurm_queried) {
    rc = cmd_fail("sweep", "cannot ask the Slurm queue which runs are live (%s); resume with --local to run here",
                  r.slurm_error);
  } else {
    int n;
    int *idx = rlvr_sweep_report_unfinished(&r, &n);
    if (n == 0) {
      printf("sweep %s: nothing to resume (every run is done or live)\n", d->sweep->name);
    } else if (a->dry_run) {
      for (int i = 0; i < n; i++)
        printf("%s  (%s: %s)\n", d->sweep->runs[idx[i]].name, rlvr_run_state_name(r.runs[idx[i]].shown),
               r.runs[idx[i]].why);
    } else {
      char *rlvr = self_exe();
      rc = on_slurm ? submit(d, a, idx, n, rlvr) : run_here(d, a, idx, n);
      free(rlvr);
    }
    free(idx);
  }
  rlvr_sweep_report_free(&r);
  rlvr_sweep_dir_free(d);
  return rc;
}

static int cmd_exec(const sweep_args *a, int print_path) {
  rlvr_sweep_dir *d;
  const char *dir = print_path ? a->config_path_dir : a->exec_dir;
  if (rlvr_sweep_dir_open(&d, dir) != RLVR_OK) return cmd_fail("sweep", "%s", rlvr_error_message());
  int rc;
  if (a->index >= d->sweep->nruns) {
    rc = cmd_usage_error("sweep", "--index %d: the sweep has %d runs (0 to %d)", a->index, d->sweep->nruns,
                         d->sweep->nruns - 1);
  } else if (print_path) {
    char *p = rlvr_sweep_dir_path(d, a->index, "sweep_config.lua");
    printf("%s\n", p);
    free(p);
    rc = EXIT_OK;
  } else {
    rlvr_run_state end;
    /* --command with --exec: this attempt's program instead of the
     * manifest's (the multi-node template runs `rlvr learner`). */
    char **words = NULL;
    int nwords = 0;
    if (a->command) {
      words = xcalloc(strlen(a->command) / 2 + 2, sizeof *words);
      char *copy = xstrdup(a->command);
      for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
        words[nwords++] = xstrdup(w);
      free(copy);
    }
    if (rlvr_sweep_exec(d, a->index, words, nwords, a->sets, a->nsets, &end) != RLVR_OK) {
      rc = cmd_fail("sweep", "%s: %s", d->sweep->runs[a->index].name, rlvr_error_message());
    } else {
      fprintf(stderr, "rlvr sweep: %s: %s\n", d->sweep->runs[a->index].name, rlvr_run_state_name(end));
      rc = rlvr_sweep_exec_exit_code(end);
    }
    for (int k = 0; k < nwords; k++) free(words[k]);
    free(words);
  }
  rlvr_sweep_dir_free(d);
  return rc;
}

int cmd_sweep(int argc, char **argv) {
  sweep_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc == -1) rc = EXIT_OK;
  else if (rc == EXIT_OK) {
    if (a.spec) rc = cmd_new(&a);
    else if (a.status_dir) rc = cmd_status(&a);
    else if (a.resume_dir) rc = cmd_resume(&a);
    else rc = cmd_exec(&a, a.config_path_dir != NULL);
  }
  free_args(&a);
  return rc;
}

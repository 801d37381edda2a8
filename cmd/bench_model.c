/* bench_model.c — `rlvr bench model`: tokens per second of the CPU policy
 * model on random weights, in the shapes of public models.
 *
 * Phases, each run once untimed (warm-up) and then --iters times; a phase's
 * figure is its tokens divided by the median time of one iteration:
 *   fwdbwd   B sequences of T tokens: zero the gradients, forward with a
 *            target at every position (the next token; the last position's
 *            target is one more random token), backward with loss weight 1 on
 *            every token (loss = sum of the B*T log-probs). B*T tokens.
 *   fwd      the same forward alone (log-probs out, no backward). B*T tokens.
 *   prefill  decode's prefill of Bd prompts of P tokens into the KV cache
 *            (logits of the last position only). Bd*P tokens.
 *   decode   then N greedy steps of Bd sequences: argmax of each row of
 *            logits, one decode step. Bd*N tokens.
 * PyTorch does the same work in bench/torch_model.py; both print the same
 * JSON keys, which bench/compare_model.sh reads.
 *
 * Besides wall time, each phase reports CPU seconds (all threads, getrusage)
 * per 1000 tokens: on a shared, busy machine the wall time suffers from the
 * other processes, the CPU time much less.
 *
 * The shapes are written out below from the config.json of each public
 * model (numbers only; no weights are read). --model DIR takes the shape from
 * DIR/config.json instead; weights are random either way, which does not
 * change the speed of float32 arithmetic. */
#include "cmd/bench_model.h"

#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cmd/cmd.h"
#include "core/check.h"
#include "core/error.h"
#include "core/file.h"
#include "core/rng.h"
#include "model/checkpoint.h"
#include "model/decode.h"
#include "model/forward.h"
#include "model/model.h"

/* ---- shapes ---- */

typedef struct {
  const char *name;
  const char *source; /* where the numbers come from */
  rlvr_arch arch;
  int V, C, F, L, H, KVH, D, max_pos;
  double theta, eps;
  int tie;
  int bos, eos;
} bench_shape;

/* Values from each model's config.json on the Hugging Face hub. attn_bias
 * and qk_norm follow from the architecture (Qwen2 has q, k, v biases; Qwen3
 * q/k RMSNorm). llama3.2-1b's config.json also has rope_scaling (llama3),
 * which rlvr does not implement; it changes only the RoPE frequencies, not
 * the work, so the shape leaves it out (and so does the config given to
 * PyTorch). */
static const bench_shape shapes[] = {
    /* Not a public model: small enough for a smoke test. */
    {"tiny", "synthetic", RLVR_ARCH_LLAMA, 512, 64, 192, 2, 4, 2, 16, 4096, 10000.0, 1e-5, 1, 1, 2},
    /* Not a public model: a ~20M-parameter Llama (L8 C384 F1024, GQA 6/2, V16384 tied). */
    {"llama-20m", "synthetic", RLVR_ARCH_LLAMA, 16384, 384, 1024, 8, 6, 2, 64, 8192, 10000.0, 1e-5, 1, 1, 2},
    {"smollm2-135m", "HuggingFaceTB/SmolLM2-135M", RLVR_ARCH_LLAMA, 49152, 576, 1536, 30, 9, 3, 64, 8192,
     100000.0, 1e-5, 1, 0, 0},
    {"smollm2-360m", "HuggingFaceTB/SmolLM2-360M", RLVR_ARCH_LLAMA, 49152, 960, 2560, 32, 15, 5, 64, 8192,
     100000.0, 1e-5, 1, 0, 0},
    {"qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B", RLVR_ARCH_QWEN2, 151936, 896, 4864, 24, 14, 2, 64, 32768, 1000000.0,
     1e-6, 1, 151643, 151643},
    {"qwen2.5-1.5b", "Qwen/Qwen2.5-1.5B", RLVR_ARCH_QWEN2, 151936, 1536, 8960, 28, 12, 2, 128, 131072,
     1000000.0, 1e-6, 1, 151643, 151643},
    {"qwen3-0.6b", "Qwen/Qwen3-0.6B", RLVR_ARCH_QWEN3, 151936, 1024, 3072, 28, 16, 8, 128, 40960, 1000000.0,
     1e-6, 1, 151643, 151645},
    {"llama3.2-1b", "meta-llama/Llama-3.2-1B (without rope_scaling)", RLVR_ARCH_LLAMA, 128256, 2048, 8192, 16,
     32, 8, 64, 131072, 500000.0, 1e-5, 1, 128000, 128001},
};
enum { NUM_SHAPES = (int)(sizeof shapes / sizeof shapes[0]) };

static const char *arch_name(rlvr_arch a) {
  return a == RLVR_ARCH_QWEN2 ? "qwen2" : a == RLVR_ARCH_QWEN3 ? "qwen3" : "llama";
}

static const bench_shape *find_shape(const char *name) {
  for (int i = 0; i < NUM_SHAPES; i++)
    if (!strcmp(shapes[i].name, name)) return &shapes[i];
  return NULL;
}

static void shape_config(const bench_shape *s, rlvr_model_config *c) {
  memset(c, 0, sizeof *c);
  c->arch = s->arch;
  c->vocab_size = s->V, c->hidden_size = s->C, c->intermediate_size = s->F;
  c->num_layers = s->L, c->num_heads = s->H, c->num_kv_heads = s->KVH, c->head_dim = s->D;
  c->max_position = s->max_pos;
  c->rope_theta = s->theta, c->rms_eps = s->eps;
  c->tie_embeddings = s->tie;
  c->attn_bias = s->arch == RLVR_ARCH_QWEN2;
  c->qk_norm = s->arch == RLVR_ARCH_QWEN3;
  c->bos_token_id = s->bos;
  c->eos_token_ids[0] = s->eos, c->num_eos = 1;
  snprintf(c->torch_dtype, sizeof c->torch_dtype, "float32");
}

/* ---- timing ---- */

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
         1e-6 * (double)ru.ru_stime.tv_usec;
}

static double peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

/* One phase's timed iterations. */
typedef struct {
  const char *name;
  int ran;
  double tokens; /* per iteration */
  int n;
  double *wall; /* (iters) seconds of each timed iteration */
  double cpu;   /* CPU seconds over all timed iterations */
} phase;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median_of(const double *v, int n) {
  double *s = xmalloc((size_t)n * sizeof *s);
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  free(s);
  return m;
}

static double min_of(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

static double max_of(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
  return m;
}

/* ---- options ---- */

typedef struct {
  const char *model_dir, *shape, *write_config;
  int B, T, Bd, P, N, threads, iters, rows;
  int do_fwdbwd, do_fwd, do_decode;
  uint64_t seed;
  int json;
} bench_opts;

static void usage(FILE *f) {
  fprintf(f,
          "usage: rlvr bench model [--shape NAME | --model DIR] [--batch B] [--seq T]\n"
          "                        [--decode-batch B] [--prompt P] [--gen N] [--threads N]\n"
          "                        [--iters K] [--phases LIST] [--rows R] [--seed S] [--json]\n"
          "       rlvr bench model --shape NAME --write-config DIR\n"
          "       rlvr bench model --list\n"
          "\n"
          "Tokens per second of the CPU model on random weights (float32):\n"
          "  fwdbwd   zero grads + forward + backward over B x T tokens (loss weight on every token)\n"
          "  fwd      forward alone over B x T tokens (log-probs of the next tokens)\n"
          "  prefill  decode's prefill of decode-batch prompts of P tokens\n"
          "  decode   N greedy steps of decode-batch sequences through the KV cache\n"
          "One untimed warm-up iteration, then the median of K.\n"
          "\n"
          "  --shape NAME       random weights in a public model's shape (--list; default tiny)\n"
          "  --model DIR        the shape of DIR/config.json (weights not read)\n"
          "  --batch B          fwdbwd/fwd batch (default 4)\n"
          "  --seq T            fwdbwd/fwd sequence length (default 256)\n"
          "  --decode-batch B   sequences decoded together (default: --batch)\n"
          "  --prompt P         prompt tokens per sequence (default 64)\n"
          "  --gen N            decode steps (default 32)\n"
          "  --threads N        OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
          "  --iters K          timed iterations per phase (default 5)\n"
          "  --phases LIST      comma-separated subset of fwdbwd,fwd,decode (default all;\n"
          "                     decode includes prefill)\n"
          "  --rows R           prefill chunk rows (default min(decode-batch * P, 2048))\n"
          "  --seed S           weights and tokens seed (default 1)\n"
          "  --json             one JSON object instead of the table\n"
          "  --write-config DIR write DIR/config.json of the shape (for bench/torch_model.py)\n"
          "                     and exit\n"
          "See docs/bench.md and bench/compare_model.sh (side by side with PyTorch).\n");
}

static void list_shapes(void) {
  printf("%-14s %-6s %6s %5s %6s %3s %3s %3s %4s %4s %11s  %s\n", "shape", "arch", "V", "C", "F", "L", "H", "KVH",
         "D", "tie", "params", "source");
  for (int i = 0; i < NUM_SHAPES; i++) {
    const bench_shape *s = &shapes[i];
    rlvr_model_config c;
    shape_config(s, &c);
    printf("%-14s %-6s %6d %5d %6d %3d %3d %3d %4d %4s %11zu  %s\n", s->name, arch_name(s->arch), s->V, s->C, s->F,
           s->L, s->H, s->KVH, s->D, s->tie ? "yes" : "no", rlvr_model_num_params(&c), s->source);
  }
}

static int parse_int(const char *flag, const char *v, int lo, int *out) {
  char *end;
  long x = strtol(v, &end, 10);
  if (!*v || *end || x < lo || x > (1 << 30))
    return cmd_usage_error("bench model", "%s must be an integer >= %d, got '%s'", flag, lo, v);
  *out = (int)x;
  return EXIT_OK;
}

static int parse_phases(bench_opts *o, const char *list) {
  o->do_fwdbwd = o->do_fwd = o->do_decode = 0;
  char *copy = strdup(list), *save = NULL;
  int rc = EXIT_OK;
  for (char *p = strtok_r(copy, ",", &save); p && rc == EXIT_OK; p = strtok_r(NULL, ",", &save)) {
    if (!strcmp(p, "fwdbwd")) o->do_fwdbwd = 1;
    else if (!strcmp(p, "fwd")) o->do_fwd = 1;
    else if (!strcmp(p, "decode")) o->do_decode = 1;
    else rc = cmd_usage_error("bench model", "--phases: unknown phase '%s' (fwdbwd, fwd, decode)", p);
  }
  free(copy);
  if (rc == EXIT_OK && !o->do_fwdbwd && !o->do_fwd && !o->do_decode)
    rc = cmd_usage_error("bench model", "--phases: no phase given");
  return rc;
}

static int parse_opts(int argc, char **argv, bench_opts *o, int *done) {
  *done = 0;
  memset(o, 0, sizeof *o);
  o->B = 4, o->T = 256, o->Bd = 0, o->P = 64, o->N = 32, o->iters = 5, o->seed = 1;
  o->do_fwdbwd = o->do_fwd = o->do_decode = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      *done = 1;
      return EXIT_OK;
    }
    if (!strcmp(a, "--list")) {
      list_shapes();
      *done = 1;
      return EXIT_OK;
    }
    if (!strcmp(a, "--json")) {
      o->json = 1;
      continue;
    }
    if (i + 1 >= argc) return cmd_usage_error("bench model", "unknown option or missing value: %s", a);
    const char *v = argv[++i];
    int rc = EXIT_OK;
    if (!strcmp(a, "--shape")) o->shape = v;
    else if (!strcmp(a, "--model")) o->model_dir = v;
    else if (!strcmp(a, "--write-config")) o->write_config = v;
    else if (!strcmp(a, "--batch")) rc = parse_int(a, v, 1, &o->B);
    else if (!strcmp(a, "--seq")) rc = parse_int(a, v, 1, &o->T);
    else if (!strcmp(a, "--decode-batch")) rc = parse_int(a, v, 1, &o->Bd);
    else if (!strcmp(a, "--prompt")) rc = parse_int(a, v, 1, &o->P);
    else if (!strcmp(a, "--gen")) rc = parse_int(a, v, 1, &o->N);
    else if (!strcmp(a, "--threads")) rc = parse_int(a, v, 1, &o->threads);
    else if (!strcmp(a, "--iters")) rc = parse_int(a, v, 1, &o->iters);
    else if (!strcmp(a, "--rows")) rc = parse_int(a, v, 1, &o->rows);
    else if (!strcmp(a, "--phases")) rc = parse_phases(o, v);
    else if (!strcmp(a, "--seed")) {
      int s;
      rc = parse_int(a, v, 0, &s);
      o->seed = (uint64_t)s;
    } else rc = cmd_usage_error("bench model", "unknown option %s", a);
    if (rc != EXIT_OK) return rc;
  }
  if (o->shape && o->model_dir) return cmd_usage_error("bench model", "give --shape or --model, not both");
  if (!o->shape && !o->model_dir) o->shape = "tiny";
  if (!o->Bd) o->Bd = o->B;
  if (!o->rows) o->rows = o->Bd * o->P < 2048 ? o->Bd * o->P : 2048;
  if (o->rows < o->Bd) o->rows = o->Bd; /* a decode step feeds Bd rows at once */
  return EXIT_OK;
}

/* ---- the phases ---- */

static void phase_alloc(phase *p, const char *name, double tokens, int iters) {
  memset(p, 0, sizeof *p);
  p->name = name;
  p->tokens = tokens;
  p->wall = xmalloc((size_t)iters * sizeof *p->wall);
}

/* fwdbwd and fwd: iteration 0 is the warm-up. */
static int run_forward(const rlvr_model *m, const bench_opts *o, rlvr_rng *rng, phase *fb, phase *f) {
  const int B = o->B, T = o->T, V = m->cfg.vocab_size;
  int *tok = xmalloc((size_t)B * T * sizeof *tok), *tgt = xmalloc((size_t)B * T * sizeof *tgt);
  int *lens = xmalloc((size_t)B * sizeof *lens);
  float *w = xmalloc((size_t)B * T * sizeof *w), *lp = xmalloc((size_t)B * T * sizeof *lp);
  /* T+1 random tokens per row: inputs 0..T-1, targets 1..T. */
  for (int b = 0; b < B; b++) {
    int prev = (int)rlvr_rng_below(rng, (uint64_t)V);
    for (int t = 0; t < T; t++) {
      int next = (int)rlvr_rng_below(rng, (uint64_t)V);
      tok[b * T + t] = prev, tgt[b * T + t] = next, w[b * T + t] = 1.0f;
      prev = next;
    }
    lens[b] = T;
  }
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &m->cfg, B, T);
  float *grads = o->do_fwdbwd ? xmalloc(m->num_params * sizeof *grads) : NULL;
  int rc = RLVR_OK;
  for (int pass = 0; pass < 2 && rc == RLVR_OK; pass++) {
    phase *p = pass == 0 ? fb : f;
    if (!(pass == 0 ? o->do_fwdbwd : o->do_fwd)) continue;
    p->ran = 1;
    for (int it = 0; it <= o->iters && rc == RLVR_OK; it++) {
      double w0 = wall_now(), c0 = cpu_now();
      if (pass == 0) rlvr_grads_zero(m, grads);
      rc = rlvr_forward(&fs, m, tok, lens, B, T, tgt, lp, NULL, NULL);
      if (rc == RLVR_OK && pass == 0) rlvr_backward(&fs, m, w, NULL, grads);
      double dw = wall_now() - w0, dc = cpu_now() - c0;
      if (it > 0) p->wall[p->n++] = dw, p->cpu += dc;
    }
  }
  rlvr_forward_free(&fs);
  free(grads), free(tok), free(tgt), free(lens), free(w), free(lp);
  return rc;
}

static int argmax_row(const float *z, int V) {
  int best = 0;
  for (int v = 1; v < V; v++)
    if (z[v] > z[best]) best = v;
  return best;
}

static int run_decode(const rlvr_model *m, const bench_opts *o, rlvr_rng *rng, phase *pre, phase *dec) {
  const int B = o->Bd, P = o->P, N = o->N, V = m->cfg.vocab_size;
  int *prompt = xmalloc((size_t)B * P * sizeof *prompt), *lens = xmalloc((size_t)B * sizeof *lens);
  int *slots = xmalloc((size_t)B * sizeof *slots), *next = xmalloc((size_t)B * sizeof *next);
  float *logits = xmalloc((size_t)B * V * sizeof *logits);
  for (int b = 0; b < B; b++) {
    for (int t = 0; t < P; t++) prompt[b * P + t] = (int)rlvr_rng_below(rng, (uint64_t)V);
    lens[b] = P, slots[b] = b;
  }
  rlvr_decode_state ds;
  rlvr_decode_build(&ds, &m->cfg, B, P + N, o->rows);
  pre->ran = dec->ran = 1;
  int rc = RLVR_OK;
  for (int it = 0; it <= o->iters && rc == RLVR_OK; it++) {
    double w0 = wall_now(), c0 = cpu_now();
    rc = rlvr_decode_prefill(&ds, m, slots, prompt, lens, B, P, logits);
    double w1 = wall_now(), c1 = cpu_now();
    for (int k = 0; k < N && rc == RLVR_OK; k++) {
      for (int b = 0; b < B; b++) next[b] = argmax_row(logits + (size_t)b * V, V);
      rc = rlvr_decode_step(&ds, m, slots, next, B, logits);
    }
    double w2 = wall_now(), c2 = cpu_now();
    if (it > 0) {
      pre->wall[pre->n++] = w1 - w0, pre->cpu += c1 - c0;
      dec->wall[dec->n++] = w2 - w1, dec->cpu += c2 - c1;
    }
  }
  rlvr_decode_free(&ds);
  free(prompt), free(lens), free(slots), free(next), free(logits);
  return rc;
}

/* ---- output ---- */

static void print_phase_text(const phase *p, const char *what) {
  if (!p->ran || !p->n) return;
  double med = median_of(p->wall, p->n);
  printf("%-8s %-14s %10.1f tok/s  median %.4f s of %d (min %.4f, max %.4f)  cpu %.3f s/1k tok\n", p->name,
         what, p->tokens / med, med, p->n, min_of(p->wall, p->n), max_of(p->wall, p->n),
         1000.0 * p->cpu / (p->tokens * p->n));
}

static void print_phase_json(const phase *p, int *first) {
  if (!p->ran || !p->n) return;
  double med = median_of(p->wall, p->n);
  printf("%s\n  \"%s\": {\"tokens\": %.0f, \"tok_per_s\": %.9g, \"median_s\": %.9g, \"min_s\": %.9g, "
         "\"max_s\": %.9g, \"cpu_s_per_ktok\": %.9g, \"iters\": %d, \"times_s\": [",
         *first ? "" : ",", p->name, p->tokens, p->tokens / med, med, min_of(p->wall, p->n), max_of(p->wall, p->n),
         1000.0 * p->cpu / (p->tokens * p->n), p->n);
  for (int i = 0; i < p->n; i++) printf(i ? ", %.9g" : "%.9g", p->wall[i]);
  printf("]}");
  *first = 0;
}

static void print_json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') printf("\\%c", ch);
    else if (ch < 0x20) printf("\\u%04x", ch);
    else putchar(ch);
  }
  putchar('"');
}

int cmd_bench_model(int argc, char **argv) {
  bench_opts o;
  int done;
  int rc = parse_opts(argc, argv, &o, &done);
  if (rc != EXIT_OK || done) return rc;

  rlvr_model_config cfg;
  const char *label;
  if (o.model_dir) {
    if (rlvr_hf_config_read(o.model_dir, &cfg) != RLVR_OK) return cmd_fail("bench model", "%s", rlvr_error_message());
    label = o.model_dir;
  } else {
    const bench_shape *s = find_shape(o.shape);
    if (!s) return cmd_usage_error("bench model", "unknown shape '%s' (rlvr bench model --list)", o.shape);
    shape_config(s, &cfg);
    label = s->name;
  }
  if (rlvr_model_config_validate(&cfg) != RLVR_OK) return cmd_fail("bench model", "%s", rlvr_error_message());

  if (o.write_config) {
    char *text = rlvr_hf_config_format(&cfg, "float32");
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", o.write_config);
    int wrc = rlvr_mkdirs(o.write_config);
    if (wrc == RLVR_OK) wrc = rlvr_file_write_atomic(path, text, strlen(text));
    free(text);
    if (wrc != RLVR_OK) return cmd_fail("bench model", "%s", rlvr_error_message());
    if (!o.json) printf("wrote %s\n", path);
    return EXIT_OK;
  }

  int need = o.P + o.N > o.T ? o.P + o.N : o.T;
  if (need > cfg.max_position)
    return cmd_usage_error("bench model", "--seq and --prompt + --gen must be at most max_position_embeddings %d",
                           cfg.max_position);
  if (o.threads) omp_set_num_threads(o.threads);
  const int threads = omp_get_max_threads();

  rlvr_model m;
  rlvr_model_init_random(&m, &cfg, o.seed);
  rlvr_rng rng;
  rlvr_rng_seed(&rng, o.seed ^ 0x9e3779b97f4a7c15ull);

  phase fb, f, pre, dec;
  phase_alloc(&fb, "fwdbwd", (double)o.B * o.T, o.iters);
  phase_alloc(&f, "fwd", (double)o.B * o.T, o.iters);
  phase_alloc(&pre, "prefill", (double)o.Bd * o.P, o.iters);
  phase_alloc(&dec, "decode", (double)o.Bd * o.N, o.iters);
  if (!o.json) {
    printf("rlvr bench model: %s (%s, %.1fM params: L%d C%d F%d H%d KVH%d D%d V%d%s%s%s), float32, threads %d\n",
           label, arch_name(cfg.arch), (double)m.num_params / 1e6, cfg.num_layers, cfg.hidden_size,
           cfg.intermediate_size, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim, cfg.vocab_size,
           cfg.tie_embeddings ? " tied" : "", cfg.attn_bias ? " qkv-bias" : "", cfg.qk_norm ? " qk-norm" : "",
           threads);
    fflush(stdout);
  }
  rc = RLVR_OK;
  if (o.do_fwdbwd || o.do_fwd) rc = run_forward(&m, &o, &rng, &fb, &f);
  if (rc == RLVR_OK && o.do_decode) rc = run_decode(&m, &o, &rng, &pre, &dec);
  double rss = peak_rss_mb();
  int exit_code = EXIT_OK;
  if (rc != RLVR_OK) {
    exit_code = cmd_fail("bench model", "%s", rlvr_error_message());
  } else if (o.json) {
    printf("{\"impl\": \"rlvr\", \"shape\": ");
    print_json_string(label);
    printf(", \"arch\": \"%s\", \"params\": %zu, \"threads\": %d, \"batch\": %d, \"seq\": %d, "
           "\"decode_batch\": %d, \"prompt\": %d, \"gen\": %d, \"iters\": %d, \"peak_rss_mb\": %.1f,",
           arch_name(cfg.arch), m.num_params, threads, o.B, o.T, o.Bd, o.P, o.N, o.iters, rss);
    int first = 1;
    print_phase_json(&fb, &first);
    print_phase_json(&f, &first);
    print_phase_json(&pre, &first);
    print_phase_json(&dec, &first);
    printf("\n}\n");
  } else {
    char what[64];
    snprintf(what, sizeof what, "B=%d T=%d", o.B, o.T);
    print_phase_text(&fb, what);
    print_phase_text(&f, what);
    snprintf(what, sizeof what, "B=%d P=%d", o.Bd, o.P);
    print_phase_text(&pre, what);
    snprintf(what, sizeof what, "B=%d N=%d", o.Bd, o.N);
    print_phase_text(&dec, what);
    printf("peak RSS %.1f MB, threads %d\n", rss, threads);
  }
  free(fb.wall), free(f.wall), free(pre.wall), free(dec.wall);
  rlvr_model_free(&m);
  return exit_code;
}

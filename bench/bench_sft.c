/* bench_sft.c — speed of the tiny model's training step and of its batched
 * decode, for choosing the default run's model size (docs/default_run.md).
 *
 *   bench_sft [--steps N] [--batch B] [--len T] [--prompt P] [--new K] [L:C:H:F ...]
 *
 * For each size (layers:hidden:heads:intermediate; default a ladder of
 * small sizes) it builds a fresh tiny model (model/tiny.h), then times
 *   train:  N steps of forward + backward + clip + AdamW on B sequences of T
 *           tokens (the SFT/GRPO learner step; tokens/s counts all tokens);
 *   decode: B sequences, prefill P tokens then K greedy tokens each through
 *           the KV cache (the rollout; tokens/s counts generated tokens).
 * Each line gives wall-clock tokens/s and CPU seconds per 1000 tokens
 * (getrusage, all threads), so a run on a busy machine can still be judged:
 * CPU time per token is what an idle machine would spend, divided among its
 * cores. Threads: OMP_NUM_THREADS. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/config.h"
#include "core/rng.h"
#include "model/decode.h"
#include "model/forward.h"
#include "model/optim.h"
#include "model/tiny.h"

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
         1e-6 * (double)ru.ru_stime.tv_usec;
}

static void bench_size(int L, int C, int H, int F, int steps, int B, int T, int P, int K) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  cfg.model_init_layers = L, cfg.model_init_hidden = C, cfg.model_init_heads = H, cfg.model_init_kv_heads = H;
  cfg.model_init_intermediate = F;
  cfg.model_init_max_position = (T > P + K ? T : P + K) + 1;
  rlvr_model m;
  if (rlvr_tiny_build(&cfg, 1, &m)) {
    fprintf(stderr, "size %d:%d:%d:%d: bad\n", L, C, H, F);
    rlvr_config_free(&cfg);
    return;
  }
  rlvr_config_free(&cfg);
  rlvr_rng rng;
  rlvr_rng_seed(&rng, 7);
  const int V = m.cfg.vocab_size;
  int *tok = malloc((size_t)B * T * sizeof(int)), *tgt = malloc((size_t)B * T * sizeof(int));
  int *lens = malloc((size_t)B * sizeof(int));
  float *w = malloc((size_t)B * T * sizeof(float)), *lp = malloc((size_t)B * T * sizeof(float));
  for (int b = 0; b < B; b++) {
    lens[b] = T;
    for (int t = 0; t < T; t++) tok[b * T + t] = (int)rlvr_rng_below(&rng, 256);
    for (int t = 0; t < T; t++) {
      tgt[b * T + t] = t + 1 < T ? tok[b * T + t + 1] : -1;
      w[b * T + t] = t + 1 < T ? -1.0f / (float)(B * T) : 0.0f;
    }
  }
  rlvr_forward_state fs;
  rlvr_forward_build(&fs, &m.cfg, B, T);
  float *g = malloc(m.num_params * sizeof(float));
  rlvr_adamw opt;
  rlvr_adamw_build(&opt, &m);
  rlvr_adamw_config ac = {1e-3f, 0.9f, 0.95f, 1e-8f, 0.0f, 0};
  /* one warm-up step, untimed */
  for (int s = 0; s <= steps; s++) {
    static double w0, c0;
    if (s == 1) w0 = wall(), c0 = cpu();
    rlvr_grads_zero(&m, g);
    rlvr_forward(&fs, &m, tok, lens, B, T, tgt, lp, NULL, NULL);
    rlvr_backward(&fs, &m, w, NULL, g);
    rlvr_clip_grad_norm(g, m.num_params, 1.0);
    rlvr_adamw_step(&opt, &ac, m.params_memory, g);
    if (s == steps) {
      double dw = wall() - w0, dc = cpu() - c0, ntok = (double)steps * B * T;
      printf("%d:%d:%d:%d  %.3fM params  train  %8.0f tok/s  %6.3f cpu-s/1k tok  (%d steps of %dx%d)\n", L, C, H, F,
             (double)m.num_params / 1e6, ntok / dw, 1000 * dc / ntok, steps, B, T);
    }
  }
  rlvr_forward_free(&fs);
  rlvr_adamw_free(&opt);
  free(g);

  rlvr_decode_state ds;
  rlvr_decode_build(&ds, &m.cfg, B, P + K, B * P);
  float *logits = malloc((size_t)B * V * sizeof(float));
  int *slots = malloc((size_t)B * sizeof(int)), *next = malloc((size_t)B * sizeof(int));
  int *plen = malloc((size_t)B * sizeof(int));
  for (int b = 0; b < B; b++) slots[b] = b, plen[b] = P;
  double w0 = wall(), c0 = cpu();
  rlvr_decode_prefill(&ds, &m, slots, tok, plen, B, T < P ? T : P, logits);
  for (int k = 0; k < K; k++) {
    for (int b = 0; b < B; b++) {
      const float *row = logits + (size_t)b * V;
      int best = 0;
      for (int v = 1; v < V; v++)
        if (row[v] > row[best]) best = v;
      next[b] = best;
    }
    rlvr_decode_step(&ds, &m, slots, next, B, logits);
  }
  double dw = wall() - w0, dc = cpu() - c0, ntok = (double)B * K;
  printf("%d:%d:%d:%d  %.3fM params  decode %8.0f tok/s  %6.3f cpu-s/1k tok  (%d sequences, prompt %d, %d new)\n", L,
         C, H, F, (double)m.num_params / 1e6, ntok / dw, 1000 * dc / ntok, B, P, K);
  fflush(stdout);
  rlvr_decode_free(&ds);
  free(logits), free(slots), free(next), free(plen);
  free(tok), free(tgt), free(lens), free(w), free(lp);
  rlvr_model_free(&m);
}

int main(int argc, char **argv) {
  int steps = 10, B = 32, T = 56, P = 24, K = 32;
  const char *sizes[64];
  int nsizes = 0;
  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && !strcmp(argv[i], "--steps")) steps = atoi(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "--batch")) B = atoi(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "--len")) T = atoi(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "--prompt")) P = atoi(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "--new")) K = atoi(argv[++i]);
    else if (nsizes < 64 && argv[i][0] != '-') sizes[nsizes++] = argv[i];
    else {
      fprintf(stderr, "usage: bench_sft [--steps N] [--batch B] [--len T] [--prompt P] [--new K] [L:C:H:F ...]\n");
      return 2;
    }
  }
  if (steps < 1 || B < 1 || T < 2 || P < 1 || K < 1 || P > T) {
    fprintf(stderr, "bench_sft: need steps, batch >= 1, len >= 2, 1 <= prompt <= len, new >= 1\n");
    return 2;
  }
  static const char *ladder[] = {"1:64:4:192", "2:64:4:192", "2:96:4:288", "2:128:4:384", "3:128:4:384", "4:128:4:384",
                                 "2:192:6:576", "4:192:6:576", "2:256:8:768"};
  if (!nsizes) {
    nsizes = (int)(sizeof ladder / sizeof ladder[0]);
    for (int i = 0; i < nsizes; i++) sizes[i] = ladder[i];
  }
  printf("threads %d\n", omp_get_max_threads());
  for (int i = 0; i < nsizes; i++) {
    int L, C, H, F;
    if (sscanf(sizes[i], "%d:%d:%d:%d", &L, &C, &H, &F) != 4) {
      fprintf(stderr, "bench_sft: '%s' is not L:C:H:F\n", sizes[i]);
      return 2;
    }
    bench_size(L, C, H, F, steps, B, T, P, K);
  }
  return 0;
}

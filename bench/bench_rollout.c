/* bench_rollout.c — the rollout engine's throughput, and what sharing a
 * group's prefill saves (rollout/engine.h, docs/rollout.md "Speed").
 *
 *   bench_rollout [prompts G prompt_len new_tokens slots]
 *
 * A random model (C 256, L 4, H 4, KVH 2, F 768, V 1000; rlvr_model_init_random),
 * P prompts of random ids, G samples each at temperature 1 with no EOS, so
 * every sample runs to new_tokens. Three runs of each variant, the best kept:
 *   shared     the prompt prefilled once per group, its K/V rows copied
 *   per-sample every sample prefilled on its own (rollout.share_prefill false)
 * Prints wall seconds, prefill tokens and generated tokens per second. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/model.h"
#include "model/tokenizer.h"
#include "rollout/engine.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  int P = 4, G = 8, Tp = 96, Tn = 32, S = 8;
  if (argc == 6) P = atoi(argv[1]), G = atoi(argv[2]), Tp = atoi(argv[3]), Tn = atoi(argv[4]), S = atoi(argv[5]);
  rlvr_model_config cfg = {.arch = RLVR_ARCH_LLAMA, .vocab_size = 1000, .hidden_size = 256, .intermediate_size = 768,
                           .num_layers = 4, .num_heads = 4, .num_kv_heads = 2, .head_dim = 64,
                           .max_position = Tp + Tn + 8, .rope_theta = 10000.0, .rms_eps = 1e-6,
                           .tie_embeddings = 1, .bos_token_id = -1, .num_eos = 0};
  snprintf(cfg.torch_dtype, sizeof cfg.torch_dtype, "float32");
  rlvr_model m;
  rlvr_model_init_random(&m, &cfg, 1);
  rlvr_tokenizer *tok;
  if (rlvr_tokenizer_load("tests/fixtures/models/tiny-qwen2/tokenizer.json", &tok) != RLVR_OK) {
    fprintf(stderr, "bench_rollout: run from the source root (%s)\n", rlvr_error_message());
    return 1;
  }
  int32_t *prompts = malloc(sizeof(int32_t) * P * Tp);
  rlvr_rng rng;
  rlvr_rng_seed(&rng, 7);
  for (int i = 0; i < P * Tp; i++) prompts[i] = (int32_t)rlvr_rng_below(&rng, 1000);
  rlvr_engine_group *groups = malloc(sizeof *groups * P);
  for (int p = 0; p < P; p++) groups[p] = (rlvr_engine_group){.group_id = (uint64_t)p, .prompt = prompts + p * Tp, .nprompt = Tp, .g = G};
  rlvr_engine_params prm;
  rlvr_engine_params_default(&prm);
  prm.temperature = 1.0f;
  prm.max_tokens = Tn;
  prm.seed = 1;
  printf("bench_rollout: %d prompts x G %d, prompt %d tokens, %d new tokens, %d slots, %d threads\n", P, G, Tp, Tn, S,
         omp_get_max_threads());
  printf("%-11s %9s %15s %14s\n", "variant", "seconds", "prefill tokens", "new tokens/s");
  rlvr_model_source ms;
  rlvr_model_source_build(&ms, &m, S, Tp + Tn);
  for (int share = 1; share >= 0; share--) {
    rlvr_engine *e = rlvr_engine_build(&ms.src, tok, NULL, 0, share);
    double best = 1e30;
    rlvr_engine_stats st;
    for (int rep = 0; rep < 3; rep++) {
      rlvr_engine_sample *out;
      int n;
      double t0 = now_s();
      if (rlvr_engine_generate(e, &prm, groups, P, &out, &n) != RLVR_OK) {
        fprintf(stderr, "bench_rollout: %s\n", rlvr_error_message());
        return 1;
      }
      double dt = now_s() - t0;
      if (dt < best) best = dt;
      rlvr_engine_get_stats(e, &st);
    }
    printf("%-11s %9.3f %15lld %14.0f\n", share ? "shared" : "per-sample", best, (long long)st.prefill_tokens,
           (double)P * G * Tn / best);
    rlvr_engine_free(e);
  }
  rlvr_model_source_free(&ms);
  rlvr_tokenizer_free(tok);
  rlvr_model_free(&m);
  free(prompts), free(groups);
  return 0;
}

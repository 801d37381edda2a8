/* bench_tokenizer.c — encode and decode speed of model/tokenizer on a corpus
 * file, cut into documents of about --chunk bytes at line breaks (prompts and
 * completions are a few KB). One thread, as a rollout worker encodes.
 *
 *   bench_tokenizer TOKENIZER_JSON_OR_DIR CORPUS [--chunk 4096] [--reps 3] [--dump IDS_FILE]
 *
 * --dump writes each document's ids on a line, for a parity check against
 * Hugging Face. The side-by-side peer is tests/ref/bench_tokenizer_hf.py,
 * which makes the corpus, times HF tokenizers on it and runs this program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/file.h"
#include "model/tokenizer.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  const char *tok_path = NULL, *corpus = NULL, *dump = NULL;
  size_t chunk = 4096;
  int reps = 3;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--chunk") && i + 1 < argc) chunk = (size_t)atol(argv[++i]);
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--dump") && i + 1 < argc) dump = argv[++i];
    else if (!tok_path) tok_path = argv[i];
    else if (!corpus) corpus = argv[i];
    else tok_path = NULL, corpus = NULL, i = argc;
  }
  if (!tok_path || !corpus || chunk == 0 || reps < 1) {
    fprintf(stderr, "usage: bench_tokenizer TOKENIZER_JSON_OR_DIR CORPUS [--chunk N] [--reps N] "
                    "[--dump FILE]\n");
    return 2;
  }
  double t0 = now();
  rlvr_tokenizer *tok;
  if (rlvr_tokenizer_load(tok_path, &tok)) {
    fprintf(stderr, "bench_tokenizer: %s\n", rlvr_error_message());
    return 1;
  }
  double t_load = now() - t0;
  char *text;
  size_t len;
  if (rlvr_file_read(corpus, &text, &len)) {
    fprintf(stderr, "bench_tokenizer: %s\n", rlvr_error_message());
    return 1;
  }
  /* documents: [start, end) cut at the first '\n' at or after start + chunk */
  size_t ndoc = 0, *cut = malloc((len / chunk + 2) * sizeof *cut);
  for (size_t i = 0; i < len;) {
    size_t j = i + chunk < len ? i + chunk : len;
    while (j < len && text[j] != '\n') j++;
    cut[ndoc++] = j;
    i = j;
  }
  FILE *df = dump ? fopen(dump, "w") : NULL;
  size_t ids_total = 0;
  int32_t **ids = calloc(ndoc, sizeof *ids);
  size_t *nids = calloc(ndoc, sizeof *nids);
  double t_enc = 1e30, t_dec = 1e30;
  for (int r = 0; r < reps; r++) {
    double a = now();
    size_t start = 0;
    for (size_t d = 0; d < ndoc; d++) {
      free(ids[d]);
      if (rlvr_tokenizer_encode_alloc(tok, text + start, cut[d] - start, 0, &ids[d], &nids[d])) {
        fprintf(stderr, "bench_tokenizer: %s\n", rlvr_error_message());
        return 1;
      }
      start = cut[d];
    }
    double b = now();
    for (size_t d = 0; d < ndoc; d++) {
      char *s;
      size_t sl;
      rlvr_tokenizer_decode(tok, ids[d], nids[d], 0, &s, &sl);
      free(s);
    }
    double c = now();
    if (b - a < t_enc) t_enc = b - a;
    if (c - b < t_dec) t_dec = c - b;
  }
  for (size_t d = 0; d < ndoc; d++) {
    ids_total += nids[d];
    if (df) {
      for (size_t k = 0; k < nids[d]; k++) fprintf(df, k ? " %d" : "%d", ids[d][k]);
      fputc('\n', df);
    }
    free(ids[d]);
  }
  if (df) fclose(df);
  printf("tokenizer %s: load %.3f s\n", tok_path, t_load);
  printf("corpus %s: %zu bytes, %zu documents of ~%zu bytes, %zu ids\n", corpus, len, ndoc, chunk,
         ids_total);
  printf("rlvr encode: %.2f MB/s (%.3f ms per KB), best of %d\n", (double)len / t_enc / 1e6,
         t_enc * 1e3 / ((double)len / 1024), reps);
  printf("rlvr decode: %.2f MB/s of text\n", (double)len / t_dec / 1e6);
  free(ids);
  free(nids);
  free(cut);
  free(text);
  rlvr_tokenizer_free(tok);
  return 0;
}

/* tok_fixture.h — reading the tokenizer fixtures of
 * tests/ref/make_tokenizer_fixtures.py and comparing one tokenizer with them.
 *
 * A fixture lists its texts once ("texts") and, per tokenizer, "cases" in the
 * same order: ids (add_special off), ids_special (on; absent = ids), decoded
 * (decode of ids_special keeping specials; absent = the text) and
 * decoded_skip (skipping specials; absent = decoded). A string that held a NUL
 * is written {"hex": "..."}. Every mismatch is printed with the text. */
#ifndef RLVR_TOK_FIXTURE_H
#define RLVR_TOK_FIXTURE_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "model/tokenizer.h"
#include "testing.h"

static inline cJSON *fx_load(const char *path) {
  char *text;
  size_t len;
  if (rlvr_file_read(path, &text, &len)) {
    fprintf(stderr, "FAIL: %s\n", rlvr_error_message());
    exit(1);
  }
  cJSON *j = cJSON_ParseWithLength(text, len);
  free(text);
  if (!j) {
    fprintf(stderr, "FAIL: %s is not JSON\n", path);
    exit(1);
  }
  return j;
}

/* The bytes of a fixture string (plain, or {"hex": ...}); malloc'ed. */
static inline char *fx_str(const cJSON *j, size_t *len) {
  if (cJSON_IsString(j)) {
    *len = strlen(j->valuestring);
    return strdup(j->valuestring);
  }
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hex");
  if (!cJSON_IsString(h)) {
    fprintf(stderr, "FAIL: fixture string is neither a string nor {\"hex\"}\n");
    exit(1);
  }
  size_t n = strlen(h->valuestring) / 2;
  char *out = malloc(n + 1);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(h->valuestring + 2 * i, "%2x", &v);
    out[i] = (char)v;
  }
  out[n] = 0;
  *len = n;
  return out;
}

static inline int32_t *fx_ids(const cJSON *arr, size_t *n) {
  *n = (size_t)cJSON_GetArraySize(arr);
  int32_t *ids = malloc((*n + 1) * sizeof *ids);
  size_t i = 0;
  for (const cJSON *x = arr->child; x; x = x->next) ids[i++] = (int32_t)x->valuedouble;
  return ids;
}

/* A printable, truncated copy of text for messages. */
static inline void fx_show(const char *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 8 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n') o += (size_t)snprintf(out + o, cap - o, "\\n");
    else if (c == '\r') o += (size_t)snprintf(out + o, cap - o, "\\r");
    else if (c == '\t') o += (size_t)snprintf(out + o, cap - o, "\\t");
    else if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    else out[o++] = (char)c;
  }
  if (o + 8 >= cap) o += (size_t)snprintf(out + o, cap - o, "...");
  out[o] = 0;
}

static inline void fx_print_ids(const char *what, const int32_t *ids, size_t n) {
  fprintf(stderr, "    %s (%zu):", what, n);
  for (size_t i = 0; i < n && i < 64; i++) fprintf(stderr, " %d", ids[i]);
  fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

/* Compares got with want; on a mismatch prints the first differing index. */
static inline int fx_same_ids(const char *label, const char *text, size_t tlen, const int32_t *got,
                       size_t ngot, const int32_t *want, size_t nwant) {
  size_t k = 0;
  while (k < ngot && k < nwant && got[k] == want[k]) k++;
  test_checks++;
  if (k == ngot && k == nwant) return 1;
  test_failures++;
  char show[200];
  fx_show(text, tlen, show, sizeof show);
  fprintf(stderr, "FAIL %s: \"%s\": ids differ at index %zu\n", label, show, k);
  fx_print_ids("got ", got, ngot);
  fx_print_ids("want", want, nwant);
  return 0;
}

static inline int fx_same_bytes(const char *label, const char *text, size_t tlen, const char *got,
                         size_t ngot, const char *want, size_t nwant) {
  test_checks++;
  if (ngot == nwant && memcmp(got, want, ngot) == 0) return 1;
  test_failures++;
  char a[200], b[200], c[200];
  fx_show(text, tlen, a, sizeof a);
  fx_show(got, ngot, b, sizeof b);
  fx_show(want, nwant, c, sizeof c);
  fprintf(stderr, "FAIL %s: \"%s\": decoded differs\n    got  \"%s\"\n    want \"%s\"\n", label, a, b,
          c);
  return 0;
}

/* Runs every case of one tokenizer; returns the number of failed checks. */
static inline int fx_check_cases(const char *label, const rlvr_tokenizer *tok, const cJSON *texts,
                          const cJSON *cases, const cJSON *decode_cases) {
  int before = test_failures;
  const cJSON *t = texts->child;
  int ncase = 0;
  for (const cJSON *c = cases->child; c && t; c = c->next, t = t->next, ncase++) {
    size_t tlen;
    char *text = fx_str(t, &tlen);
    size_t nwant, nwant_sp;
    int32_t *want = fx_ids(cJSON_GetObjectItemCaseSensitive(c, "ids"), &nwant);
    const cJSON *jsp = cJSON_GetObjectItemCaseSensitive(c, "ids_special");
    int32_t *want_sp = jsp ? fx_ids(jsp, &nwant_sp) : NULL;
    if (!want_sp) {
      nwant_sp = nwant;
      want_sp = malloc((nwant + 1) * sizeof *want_sp);
      memcpy(want_sp, want, nwant * sizeof *want);
    }
    for (int sp = 0; sp < 2; sp++) {
      size_t cap = rlvr_tokenizer_max_ids(tok, tlen), n = 0;
      int32_t *ids = malloc((cap + 1) * sizeof *ids);
      int rc = rlvr_tokenizer_encode(tok, text, tlen, sp, ids, cap, &n);
      char lab[160];
      snprintf(lab, sizeof lab, "%s case %d%s", label, ncase, sp ? " (add_special)" : "");
      test_checks++;
      if (rc) {
        test_failures++;
        fprintf(stderr, "FAIL %s: encode: %s\n", lab, rlvr_error_message());
      } else {
        fx_same_ids(lab, text, tlen, ids, n, sp ? want_sp : want, sp ? nwant_sp : nwant);
      }
      free(ids);
    }
    /* decodings of ids_special, from the reference ids */
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(c, "decoded");
    const cJSON *jds = cJSON_GetObjectItemCaseSensitive(c, "decoded_skip");
    size_t dlen, dslen;
    char *dec = jd ? fx_str(jd, &dlen) : (dlen = tlen, memcpy(malloc(tlen + 1), text, tlen + 1));
    char *decs = jds ? fx_str(jds, &dslen) : (dslen = dlen, memcpy(malloc(dlen + 1), dec, dlen + 1));
    for (int skip = 0; skip < 2; skip++) {
      char *out;
      size_t olen;
      rlvr_tokenizer_decode(tok, want_sp, nwant_sp, skip, &out, &olen);
      char lab[160];
      snprintf(lab, sizeof lab, "%s case %d decode%s", label, ncase, skip ? " skip_special" : "");
      fx_same_bytes(lab, text, tlen, out, olen, skip ? decs : dec, skip ? dslen : dlen);
      free(out);
    }
    free(dec);
    free(decs);
    free(want);
    free(want_sp);
    free(text);
  }
  test_checks++;
  if (t || ncase == 0) {
    test_failures++;
    fprintf(stderr, "FAIL %s: cases and texts differ in number\n", label);
  }
  int nd = 0;
  for (const cJSON *d = decode_cases ? decode_cases->child : NULL; d; d = d->next, nd++) {
    size_t n, wlen;
    int32_t *ids = fx_ids(cJSON_GetObjectItemCaseSensitive(d, "ids"), &n);
    int skip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "skip_special"));
    char *want = fx_str(cJSON_GetObjectItemCaseSensitive(d, "text"), &wlen);
    char *out;
    size_t olen;
    rlvr_tokenizer_decode(tok, ids, n, skip, &out, &olen);
    char lab[160];
    snprintf(lab, sizeof lab, "%s decode case %d (skip %d, first id %d)", label, nd, skip,
             n ? ids[0] : -1);
    fx_same_bytes(lab, "", 0, out, olen, want, wlen);
    free(out);
    free(want);
    free(ids);
  }
  int failed = test_failures - before;
  printf("%s %s: %d cases, %d decode cases\n", failed ? "FAIL" : "ok  ", label, ncase, nd);
  return failed;
}

#endif

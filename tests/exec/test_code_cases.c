/* test_code_cases.c — runs the labeled cases of tests/verifiers/cases/code.jsonl
 * through the verifier host (verifiers/host.h) with verifiers/code.lua, in
 * process, and checks each case's score and status against its label.
 *
 * Each line: {"note", "completion", "reference", "meta"?, "expect_score",
 * "expect_status"}; the reference is passed as JSON (objects become tables,
 * a JSON string stays a string). Scores are compared with 1e-9 slack (labels
 * such as 1/3 are written as decimals). Usage: test_code_cases [cases.jsonl]. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "testing.h"
#include "verifiers/host.h"

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "tests/verifiers/cases/code.jsonl";
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return 1;
  }
  rlvr_verify_options o;
  rlvr_verify_options_default(&o, "verifiers");
  o.workers = 0;
  rlvr_verify_host *h = rlvr_host_build(&o);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int lineno = 0, ncases = 0, nbad = 0;
  int by_status[RLVR_VERIFY_NSTATUS] = {0};
  while ((n = getline(&line, &cap, f)) > 0) {
    lineno++;
    cJSON *c = cJSON_ParseWithLength(line, (size_t)n);
    CHECK_MSG(c != NULL, "%s:%d: not JSON", path, lineno);
    if (!c) continue;
    const cJSON *note = cJSON_GetObjectItemCaseSensitive(c, "note");
    const cJSON *comp = cJSON_GetObjectItemCaseSensitive(c, "completion");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c, "reference");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(c, "meta");
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "expect_score");
    const cJSON *want_status = cJSON_GetObjectItemCaseSensitive(c, "expect_status");
    CHECK_MSG(cJSON_IsString(note) && cJSON_IsString(comp) && ref && cJSON_IsNumber(want) &&
                  cJSON_IsString(want_status),
              "%s:%d: a case needs note, completion, reference, expect_score, expect_status", path, lineno);
    if (!cJSON_IsString(note) || !cJSON_IsString(comp) || !ref || !cJSON_IsNumber(want) ||
        !cJSON_IsString(want_status)) {
      cJSON_Delete(c);
      continue;
    }
    char *ref_text = cJSON_PrintUnformatted(ref);
    char *meta_text = meta ? cJSON_PrintUnformatted(meta) : NULL;
    rlvr_verify_item it;
    memset(&it, 0, sizeof it);
    it.verifier = "code";
    it.completion = comp->valuestring;
    it.completion_len = strlen(comp->valuestring);
    it.reference = ref_text;
    it.reference_len = strlen(ref_text);
    it.reference_json = 1;
    it.meta = meta_text;
    it.meta_len = meta_text ? strlen(meta_text) : 0;
    rlvr_verify_result r;
    memset(&r, 0, sizeof r);
    rlvr_host_verify(h, &it, &r);
    ncases++;
    by_status[r.status]++;
    const char *got_status = rlvr_verify_status_name(r.status);
    int ok = !strcmp(got_status, want_status->valuestring) && fabs(r.score - want->valuedouble) <= 1e-9;
    if (!ok) nbad++;
    CHECK_MSG(ok, "%s:%d (%s): score %.6f status %s, expected %.6f %s; details %.600s", path, lineno,
              note->valuestring, r.score, got_status, want->valuedouble, want_status->valuestring,
              r.details ? r.details : "");
    rlvr_verify_result_clear(&r);
    free(ref_text);
    free(meta_text);
    cJSON_Delete(c);
  }
  free(line);
  fclose(f);
  rlvr_host_free(h);
  printf("%d cases, %d disagree with their label (ok %d, wrong-format %d, verifier-error %d)\n", ncases, nbad,
         by_status[RLVR_VERIFY_OK], by_status[RLVR_VERIFY_WRONG_FORMAT], by_status[RLVR_VERIFY_VERIFIER_ERROR]);
  CHECK_MSG(ncases >= 100, "only %d cases", ncases);
  return test_done();
}

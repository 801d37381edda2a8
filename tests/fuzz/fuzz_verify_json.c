/* fuzz_verify_json.c — libFuzzer target for the verifier host's handling of
 * outside data: JSON references and meta decoded into Lua values
 * (verifiers/luajson.c), arbitrary completion bytes, and details encoded
 * back to JSON.
 *
 * The input is split at the first NUL byte: before it, the JSON text of the
 * reference (also used as meta); after it, the completion. An echo script
 * (written to a temporary file at start) puts completion, reference and meta
 * into its details. Each input gets a fresh host, so that the sandbox's
 * build and teardown are fuzzed too and every run frees what it allocates.
 * Properties checked beyond "no crash, no leak": the status
 * is ok or input-error (invalid JSON), the score is in [0, 1], and the
 * details always parse as JSON. Seeds: tests/fuzz/corpus/verify_json/. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verifiers/host.h"

static rlvr_verify_options opts;
static char script[64];

static const char *echo_src =
    "return { name = 'echo', version = 1, verify = function(c, r, m)\n"
    "  return 0.5, { completion = c, reference = r, meta = m, len = #c, rtype = type(r) }\n"
    "end }\n";

static void setup(void) {
  snprintf(script, sizeof script, "/tmp/rlvr_fuzz_echo_%d.lua", (int)getpid());
  FILE *f = fopen(script, "w");
  if (!f || fputs(echo_src, f) < 0 || fclose(f)) abort();
  rlvr_verify_options_default(&opts, NULL);
  opts.instructions = 1000000;
  opts.memory_bytes = 16 << 20;
  opts.workers = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!script[0]) setup();
  /* A host (and its Lua state) per input: each run frees what it allocates,
   * so libFuzzer's leak check stays quiet unless something really leaks. */
  rlvr_verify_host *host = rlvr_host_build(&opts);
  const uint8_t *nul = memchr(data, 0, size);
  size_t rlen = nul ? (size_t)(nul - data) : size;
  const char *completion = nul ? (const char *)nul + 1 : "";
  size_t clen = nul ? size - rlen - 1 : 0;
  rlvr_verify_item it = {0};
  it.verifier = script;
  it.completion = completion;
  it.completion_len = clen;
  it.reference = (const char *)data;
  it.reference_len = rlen;
  it.reference_json = 1;
  it.meta = (const char *)data;
  it.meta_len = rlen;
  rlvr_verify_result r;
  rlvr_host_verify(host, &it, &r);
  if (r.status != RLVR_VERIFY_OK && r.status != RLVR_VERIFY_INPUT_ERROR) {
    fprintf(stderr, "unexpected status %s: %s\n", rlvr_verify_status_name(r.status), r.details);
    abort();
  }
  if (!(r.score >= 0 && r.score <= 1)) abort();
  cJSON *j = cJSON_Parse(r.details);
  if (!j) {
    fprintf(stderr, "details are not JSON: %s\n", r.details);
    abort();
  }
  cJSON_Delete(j);
  rlvr_verify_result_clear(&r);
  rlvr_host_free(host);
  return 0;
}

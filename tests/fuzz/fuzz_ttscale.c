/* fuzz_ttscale.c — rollout/ttscale.h on arbitrary bytes: the input's first
 * line is a sweep axis ("max_think_tokens=16,32"), which parses or returns
 * RLVR_ERR_CONFIG; when it parses, a grid over default options is built or
 * refused. The rest is a sweep record (sweep.json as a user may hand it
 * back), which renders as markdown and HTML or returns RLVR_ERR_FORMAT. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "rollout/ttscale.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  char *nl = strchr(text, '\n');
  const char *json = nl ? nl + 1 : "";
  if (nl) *nl = 0;
  rlvr_ttscale_axes a;
  memset(&a, 0, sizeof a);
  int rc = rlvr_ttscale_parse_axis(&a, text);
  RLVR_CHECK(rc == RLVR_OK || rc == RLVR_ERR_CONFIG);
  if (rc == RLVR_OK) {
    rlvr_eval_options base, *o = NULL;
    memset(&base, 0, sizeof base);
    base.samples = 1;
    base.batch = 1;
    rlvr_engine_params_default(&base.params);
    int n = 0;
    rc = rlvr_ttscale_grid(&a, &base, &o, &n);
    RLVR_CHECK((rc == RLVR_OK && n >= 1 && n <= RLVR_TTSCALE_MAX_SETTINGS) || (rc == RLVR_ERR_CONFIG && !o));
    free(o);
  }
  char *md = NULL, *html = NULL;
  rc = rlvr_ttscale_markdown(json, &md);
  RLVR_CHECK(rc == RLVR_OK || rc == RLVR_ERR_FORMAT);
  int rc2 = rlvr_ttscale_html(json, &html);
  RLVR_CHECK(rc2 == rc, "markdown %d, html %d: the same record", rc, rc2);
  RLVR_CHECK(rc || (md && html && strstr(html, "</html>")));
  free(md), free(html), free(text);
  return 0;
}

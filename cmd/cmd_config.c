/* cmd_config.c — `rlvr config`: print the resolved configuration or the
 * reference of every key. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

static const char *usage =
    "usage: rlvr config [CONFIG.lua] [--set key=value ...] [--reference]\n"
    "\n"
    "Prints the configuration that a run with these arguments would use, as a Lua\n"
    "file that can be edited and passed back. --reference prints every key with\n"
    "its type, default and meaning, as a markdown table (docs/config.md).\n";

int cmd_config(int argc, char **argv) {
  rlvr_config cfg;
  rlvr_config_init(&cfg);
  char **rest = calloc((size_t)argc, sizeof *rest);
  int nrest, help, reference = 0;
  int rc = cmd_parse_common(argc, argv, &cfg, rest, &nrest, &help);
  for (int i = 0; rc == EXIT_OK && i < nrest; i++) {
    if (!strcmp(rest[i], "--reference")) reference = 1;
    else rc = cmd_usage_error("config", "unknown argument '%s'", rest[i]);
  }
  if (rc == EXIT_OK) {
    if (help) fputs(usage, stdout);
    else if (reference) rlvr_config_print_reference(stdout);
    else rlvr_config_print_lua(&cfg, stdout);
  }
  free(rest);
  rlvr_config_free(&cfg);
  return rc;
}

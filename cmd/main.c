/* main.c — `rlvr <command> [args]`: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static const rlvr_command commands[] = {
    {"generate", cmd_generate, "sample completions of a prompt from a model"},
    {"score", cmd_score, "per-token log-probabilities of texts under a model (JSON lines)"},
    {"bench", cmd_bench, "benchmarks (rlvr bench --help)"},
    {"config", cmd_config, "print the resolved configuration or the reference of every key"},
    {"tasks", cmd_tasks, "print task items (prompts, answers, worked examples) as JSONL"},
    {"rollout", cmd_rollout, "a rollout worker: sample and score prompt groups for a learner (--connect)"},
    {"eval", cmd_eval, "score a model on held-out problems: pass@1, pass@k, maj@k (optional budget forcing)"},
    {"sft", cmd_sft, "supervised fine-tuning on prompt/completion pairs (loss on completions)"},
    {"train", cmd_train, "a GRPO run on this machine: learner and rollout workers (no config: the default run)"},
    {"learner", cmd_learner, "the GRPO learner alone, for workers on other machines (rlvr rollout --connect)"},
    {"report", cmd_report, "write a run's HTML report (plots of its metrics)"},
    {"verify", cmd_verify, "score completions (JSONL) with verifier scripts"},
    {"sweep", cmd_sweep, "expand a sweep spec into runs; run them here or on Slurm; --status, --resume"},
    {"compare", cmd_compare, "compare runs or a sweep: final/best metrics over seeds, curves (--html)"},
    {"select", cmd_select, "pick N prompts from a pool by pass rate and cluster (s1K-style data selection)"},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void print_usage(FILE *f) {
  fprintf(f, "usage: rlvr <command> [options]   (rlvr <command> --help for each)\n\ncommands:\n");
  for (int i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nExit codes: 0 success, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return EXIT_USAGE;
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    print_usage(stdout);
    return EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("rlvr 0.1.0\n");
    return EXIT_OK;
  }
  for (int i = 0; i < NCOMMANDS; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "rlvr: unknown command '%s'\n", argv[1]);
  print_usage(stderr);
  return EXIT_USAGE;
}

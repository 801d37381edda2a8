-- s1k_select.lua — s1K-style data selection from a pool with `rlvr select`,
-- then GRPO on the selected prompts ordered by a pass-rate curriculum.
--
--   rlvr select experiments/examples/s1k_select.lua --task data/pool.jsonl
--   rlvr train  experiments/examples/s1k_select.lua
--
-- Edit first:
--   model.path            the model whose pass rates decide (usually the one you train).
--   the pool (--task)     a JSONL of question/answer records, each with a
--                         unique "id" field: the curriculum matches the pass
--                         rates to the selected records by id (docs/select.md,
--                         Curriculum). It must not hold your evaluation problems.
--   select.cluster_field  a field that names a record's domain/source/tag if
--                         the pool has one ('' = answer kind x prompt length).
--   task.heldout_path     the labelled problems scored before/after training.
--
-- Selection (Muennighoff et al. 2025, "s1", arXiv:2501.19393, section 2:
-- quality, difficulty, diversity; docs/select.md): malformed, duplicate and
-- too-long records are dropped; each remaining prompt gets select.samples
-- completions from the model, and prompts it always or never solves are
-- dropped (a GRPO group of equal rewards has no gradient); the N kept are
-- taken round-robin over clusters, nearest pass rate 0.5 first. N = 1000 is
-- s1K's size; the rest are our choices.
-- Training: task.source is the selected file; task.curriculum is the pass-rate
-- file the select run wrote, and easy_first hands out the records each epoch
-- from the highest pass rate to the lowest (docs/tasks.md, "The cursor").
local dir = "runs/s1k_select"
return {
  run = { dir = dir .. "/train", seed = 1, threads = 0 },

  model = { path = "models/Qwen2.5-0.5B" },            -- EDIT: your checkpoint

  task = {
    source = dir .. "/selected.jsonl",                 -- what `rlvr select` kept (its --task is the pool)
    heldout_path = "data/gsm8k/test.jsonl",            -- EDIT: labelled evaluation problems
    template = "r1",
    verifier = "math",
    curriculum = dir .. "/rates.jsonl",                -- written by `rlvr select` (select.pass_rates)
    curriculum_order = "easy_first",                   -- or hard_first, target, shuffle
    curriculum_drop_solved = true,                     -- pass rate 1 teaches nothing
    curriculum_drop_unsolved = false,
  },

  select = {
    n = 1000,                                          -- s1K: 1,000 prompts
    samples = 8,                                       -- k completions per prompt for its pass rate
    temperature = 1.0,
    min_pass = 0,                                      -- with keep_unsolved/keep_solved false,
    max_pass = 1,                                      -- pass rates 0 and 1 are dropped
    target = 0.5,                                      -- within a cluster, nearest 0.5 first
    cluster_field = "",                                -- EDIT: e.g. "domain,source"
    max_prompt_tokens = 512,
    output = dir .. "/selected.jsonl",
    summary = dir .. "/select_summary.json",
    dropped = dir .. "/dropped.jsonl",
    pass_rates = dir .. "/rates.jsonl",
  },
  eval = { max_tokens = 1024 },                        -- completion length while `rlvr select` samples

  sample = { temperature = 1.0, max_tokens = 1024 },
  reward = { accuracy_weight = 1.0, format_weight = 0.1 },
  advantage = { estimator = "grpo" },
  loss = { aggregation = "dapo", eps_low = 0.2, eps_high = 0.28, beta = 0 },
  optim = { lr = 1e-6, schedule = "constant", warmup_steps = 10, max_grad_norm = 1.0 },
  train = { steps = 300, prompts_per_step = 32, group_size = 8, micro_batch = 16, workers = 2,
            eval = true, eval_size = 500 },
  rollout = { slots = 64 },
  checkpoint = { every = 50, keep = 2 },
}

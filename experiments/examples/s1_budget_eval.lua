-- s1_budget_eval.lua — s1-style evaluation of a checkpoint with budget forcing.
--
--   rlvr eval experiments/examples/s1_budget_eval.lua \
--       --output runs/s1_budget_eval/samples.jsonl --summary runs/s1_budget_eval/summary.json
--   rlvr eval experiments/examples/s1_budget_eval.lua --model runs/r1_zero_gsm8k/model
--   rlvr eval experiments/examples/s1_budget_eval.lua \
--       --budget-sweep max_think_tokens=256,512,1024,0 --waits 0,1,2 --sweep-dir runs/s1_budget_eval/sweep
--
-- Edit first:
--   model.path   the checkpoint: a Hugging Face directory, or a run's model/
--                (runs/NAME/model) or checkpoint written by `rlvr train`.
--   task.source  the problems: a JSONL with question/answer ("#### n" or
--                \boxed{}), or a generator name (arith, countdown, linear).
--                eval.split = "train" scores the file from its first line;
--                "heldout" needs task.heldout_path or task.heldout_fraction.
--
-- Budget forcing (Muennighoff et al. 2025, "s1: Simple test-time scaling",
-- arXiv:2501.19393; docs/rollout.md "Budget forcing", docs/eval.md):
--   - maximum: thinking is cut after budget.max_think_tokens tokens and
--     budget.answer_prefix (" </think> <answer>") is appended, so the model
--     must answer now (s1 appends its end-of-thinking token and "Final Answer:").
--   - minimum: an end of thinking (</think>) written before
--     budget.min_think_tokens tokens is replaced by "Wait", at most
--     budget.max_waits times, and the model keeps thinking.
-- s1 decodes greedily (temperature 0) and reports accuracy against the mean
-- thinking tokens; --budget-sweep and --waits run that grid on the same
-- problems and seeds and write sweep.md / sweep.html (the scaling plot).
-- The thresholds below are our choice for GSM8K-length problems; s1 swept
-- thinking caps of thousands of tokens on AIME/MATH500.
return {
  run = { seed = 1, threads = 0 },

  model = { path = "models/Qwen2.5-0.5B" },            -- EDIT: the checkpoint to score

  task = {
    source = "data/gsm8k/test.jsonl",                  -- EDIT: the problems
    answer_extract = "auto",                           -- '####' (GSM8K) or \boxed{} (MATH), as found
    template = "r1",                                   -- R1-Zero text with <think> opened: the
                                                       -- completion starts inside its thinking
    verifier = "math",
  },

  eval = {
    split = "train",                                   -- the whole file, in order (see above)
    size = 500,                                        -- first 500 problems; 0 = all
    samples = 1,                                       -- s1: one greedy completion per problem
    temperature = 0,
    max_tokens = 1280,                                 -- whole completion: thinking cap + answer
    stop = "</answer>",                                -- the answer is closed: stop there
    budget = true,                                     -- apply the budget.* keys below
    -- eval.output / eval.summary are left to the command line (--output,
    -- --summary): a --budget-sweep refuses them and writes --sweep-dir instead.
  },

  budget = {
    min_think_tokens = 64,                             -- thinking shorter than this gets "Wait" ...
    max_waits = 2,                                     -- ... at most twice per completion
    wait = "Wait",
    max_think_tokens = 1024,                           -- thinking cut here; 0 = no cap
    think_end = "</think>",
    answer_prefix = " </think> <answer>",              -- appended at the cap (the r1 template's tags)
  },

  rollout = { slots = 64 },                            -- sequences decoded at once (eval.batch = this)
}

-- ttrl_consensus.lua — test-time RL: GRPO on unlabelled prompts, rewarded
-- by agreement with the group's majority answer.
--
--   rlvr train experiments/examples/ttrl_consensus.lua
--
-- Edit first:
--   model.path   the checkpoint (Hugging Face directory or a run's model/).
--   task.source  a JSONL of the prompts to adapt to, {"question": ...} (or
--                "problem"/"prompt"); no answer field is needed. Records that
--                do have an answer keep it only for the logged metrics.
--
-- The method is TTRL (Zuo et al. 2025, "TTRL: Test-Time Reinforcement
-- Learning", arXiv:2504.16084): sample G answers per prompt, take the
-- majority answer as the pseudo-label, reward 1 for agreeing with it and 0
-- otherwise. Here the consensus verifier (docs/verifiers.md, "The consensus
-- verifier") does this per group: answers are read as math.lua reads them
-- (<answer> tags, \boxed{}, ...) and grouped by the math verifier's
-- equivalence (1/2 = 0.5). Each step logs consensus_majority_correct and
-- consensus_label_accuracy where labels exist (docs/metrics.md).
-- TTRL votes over more samples (64) than it trains on; in rlvr the vote and
-- the training group are the same G completions, so G is larger here than
-- in the R1-Zero example. The learning rate is small (TTRL reports 5e-7) as
-- the reward comes from the model itself. Other values are our choice.
return {
  run = { dir = "runs/ttrl_consensus", seed = 1, threads = 0 },

  model = { path = "models/Qwen2.5-0.5B" },            -- EDIT: your checkpoint

  task = {
    source = "data/unlabelled.jsonl",                  -- EDIT: prompts without answers
    verifier = "consensus",                            -- majority vote as the label (verifiers/consensus.lua)
    template = "r1",                                   -- R1-Zero text, <think> opened
    heldout_fraction = 0,                              -- train on every prompt: test-time adaptation
  },

  sample = { temperature = 1.0, max_tokens = 1024 },

  reward = { accuracy_weight = 1.0, format_weight = 0 }, -- accuracy = agreement with the majority

  advantage = { estimator = "grpo" },                  -- groups that all agree have no spread: no gradient

  loss = { aggregation = "dapo", eps_low = 0.2, eps_high = 0.28, beta = 0 },

  optim = { lr = 5e-7, schedule = "cosine", warmup_steps = 10, min_lr_ratio = 0.1, max_grad_norm = 1.0 },

  train = {
    steps = 200,
    prompts_per_step = 16,
    group_size = 16,                                   -- G: the voters and the training group
    micro_batch = 16,
    workers = 2,
    eval = false,                                      -- no labels to score against; set true with a
                                                       -- labelled task.heldout_path to measure
  },

  rollout = { slots = 64 },

  checkpoint = { every = 25, keep = 2 },
}

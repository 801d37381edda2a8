/* consensus.h — what a group of G samples says about itself: the answer each
 * sample votes with, the group's majority answer, maj@G and pass@G against
 * a label, and the consensus (test-time RL) pseudo-label rewards.
 *
 * Answers vote as rollout/eval.h's rlvr_majority_vote has them vote: grouped
 * by the math verifier's equivalence (rlvr_mq_equal with the vote group's
 * first answer as the gold side, so "1/2", "0.5" and "\frac12" are one
 * answer), the largest group wins, a tie goes to the group whose first
 * answer came first, samples without an answer do not vote.
 *
 * Consensus rewards (TTRL, Zuo et al. 2025, "TTRL: Test-Time Reinforcement
 * Learning"): the winning group's first answer is the pseudo-label; sample i
 * gets 1 when it is the winner or rlvr_mq_equal(winner, answer_i) holds, 0
 * otherwise, and 0 without an answer (or when no sample has one). The
 * equivalence is not always transitive (tolerances), so a sample that voted
 * for another group may still agree with the winner; the reward follows
 * agreement with the pseudo-label, as TTRL's does.
 *
 * Both the worker (every group: maj@G, pass@G; groups of the `consensus`
 * verifier: their rewards) and tests use these. Not thread-safe per call:
 * each call makes its own arena. */
#ifndef RLVR_CONSENSUS_H
#define RLVR_CONSENSUS_H

#include <stddef.h>

/* The verifier name that turns a group's rewards into consensus rewards
 * (verifiers/consensus.lua scores the samples one by one first). */
#define RLVR_CONSENSUS_VERIFIER "consensus"

/* The answer a sample votes with, malloc'd and NUL-terminated, or NULL:
 * the verifier's own extraction (details JSON's "extracted" string, as the
 * math, consensus and countdown verifiers report it), else, when fallback is
 * 1, what rlvr_mx_extract finds in text[0..len) with its default rules.
 * Empty answers are none; answers longer than RLVR_CONSENSUS_ANSWER_MAX bytes
 * are cut there. details may be NULL or malformed (then: none from it). */
enum { RLVR_CONSENSUS_ANSWER_MAX = 1000 };
char *rlvr_consensus_sample_answer(const char *details, const char *text, size_t len, int fallback);

/* The pseudo-label rewards of one group of n answers (NULL = none): reward
 * (n) gets 1 or 0 as above. Returns the winner's index (the pseudo-label is
 * answers[winner]), or -1 when no sample has an answer (all rewards 0).
 * *votes (may be NULL) gets the winning vote group's size. */
int rlvr_consensus_rewards(const char *const *answers, int n, double *reward, int *votes);

/* maj@G and pass@G of one group against its label: correct (n) says which
 * samples are right (verifier score >= 0.5 with a scored status: infra
 * failures are wrong). *majority_correct = 1 when the winner exists and is
 * correct (a group where nobody answers is not solved), *any_correct = 1
 * when some sample is. Returns the winner's index or -1, as the vote. */
int rlvr_consensus_group_label_stats(const char *const *answers, const int *correct, int n, int *majority_correct,
                                     int *any_correct);

#endif

/* sample.cu — temperature, top-k, top-p sampling on the GPU, one thread
 * block per row; see ops.h for the contract. Status: compiled, not yet run
 * on a GPU.
 *
 * The CPU sampler (model/sampler.c) sorts candidates; a block cannot sort
 * 150k tokens cheaply, so everything that needs the sorted order is asked as
 * a selection instead. Sorted order: by key descending, ties by lower id,
 * where key is the scaled logit s = z / T mapped to an unsigned integer with
 * the same order (order_key). A candidate set is always a prefix of that
 * order, written (kt, idcut):
 *     member(i)  <=>  key_i > kt  ||  (key_i == kt && i <= idcut)
 * and the whole vocabulary is (0, V-1) (key 0 belongs to no finite float).
 *
 * select(R, weight): the first element x of the set's sorted order whose
 * inclusive cumulative weight reaches R (an integer >= 1), returned as the
 * new prefix (key_x, x). Weight is 1 (top-k: R = k) or the token's mass
 * (top-p: R = ceil(top_p * kept); the draw: R = floor(u * kept) + 1, i.e. the
 * first token whose cumulative mass exceeds u * kept, as the CPU's
 * `u < cum`). It is a radix select on the key, 8 bits at a time from the
 * top: a histogram of the weights of the members that match the key prefix
 * found so far (shared-memory integer atomics: exact, order-free), a walk
 * down the 256 bins to the one where the cumulative weight reaches R, R
 * reduced by what came before; after four rounds the key is exact and the
 * ties at that key are walked in id order (each thread owns a contiguous
 * chunk of ids; an exclusive scan of the chunks' weights tells which chunk
 * holds the answer).
 *
 * Mass: q_i = round(e^(s_i - max) * 2^40), a 64-bit integer, so kept
 * masses and cumulative sums are exact integers. The draw with neither
 * top-k nor top-p walks the vocabulary in id order instead (as the CPU does:
 * without truncation it never sorts). The reported log-prob uses the float
 * softmax normaliser (double sum of float terms), as the CPU's. */
#include "model/cuda/ops.h"
#include "model/cuda/sample.cuh"

extern "C" void rlvr_cuda_sample(int *tokens, float *logprobs, const void *logits, int B, int V,
                                 const rlvr_sampling *params, const double *u, rlvr_dtype dt, cudaStream_t s) {
  if (B <= 0) return;
  RLVR_DISPATCH_DTYPE(dt, T,
                      sample_kernel1<T><<<B, SAMPLE_BLOCK, 0, s>>>(tokens, logprobs, (const T *)logits, B, V,
                                                                   params, u));
  CUDA_CHECK(cudaGetLastError());
}

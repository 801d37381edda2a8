/* transport_bench.h — throughput of the learner/worker transport (core/transport.h),
 * run by bench/bench_transport and `rlvr bench transport`.
 *
 * Two processes (the sender is forked), one ZeroMQ context each, over ipc://
 * and tcp:// on 127.0.0.1:
 *   - trajectories through PUSH/PULL: one group of G samples x T completion
 *     tokens (token ids, mask and float32 log-probs) per message;
 *   - weights through PUB/SUB as zero-copy tensor frames, 1 MB and 16 MB per
 *     message, at most transport.hwm_weights messages in flight.
 * Each case runs twice: "full" (rlvr_sock_send encodes, rlvr_sock_recv
 * decodes and checks everything, CRC-32C included) and "raw" (the same bytes
 * through bare zmq_send / zmq_msg_recv, no encoding or decoding), plus
 * in-process encode and decode timings. Payload = token ids + mask +
 * log-probs (+ prompt ids), or tensor bytes. Each line also gives the CPU time
 * per message of the sending and the receiving process (all threads) and the
 * rate two dedicated cores would allow, 2 / (send + recv CPU): on a shared
 * machine the wall-clock rate says as much about the neighbours as about the
 * transport. */
#ifndef RLVR_TRANSPORT_BENCH_H
#define RLVR_TRANSPORT_BENCH_H

int rlvr_transport_bench_main(int argc, char **argv);

#endif

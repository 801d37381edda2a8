#!/usr/bin/env python3
"""make_protocol_fixtures.py — messages of docs/protocol.md encoded by an
independent msgpack implementation (msgpack-python) with checksums from an
independent CRC-32C (the crc32c package), read by tests/protocol/test_protocol.c.

Rerun (from the repository root):
    /work/venv-ref/bin/python tests/ref/make_protocol_fixtures.py
Made with the venv at /work/venv-ref:
    pip install msgpack==1.2.4 crc32c==2.9.post0
It rewrites tests/fixtures/protocol/<type>.msgpack, one message per file
(a few hundred bytes each), deterministic.

The values below are repeated as constants in test_protocol.c (which checks
every decoded field against them); change both together. Keys are written in
the order rlvr's encoder writes them, floats as float64 and integers in their
shortest form (msgpack-python's defaults), so the C encoder must produce the
same bytes for the same message: the test checks that too.
"""
import os
import struct

import crc32c
import msgpack

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "protocol")


def u32(ids):
    return struct.pack("<%dI" % len(ids), *ids)


def f32(xs):
    return struct.pack("<%df" % len(xs), *xs)


def head(t):
    return {"type": t, "v": 1}


def msg(t, **fields):
    m = head(t)
    m.update(fields)
    return m


def sample(tokens, mask, logprobs, reward, comps, adv, status, seed, finish, timings=None):
    s = {
        "tokens": u32(tokens),
        "mask": bytes(mask),
        "logprobs": f32(logprobs),
        "reward": float(reward),
        "components": comps,
        "advantage": float(adv),
        "verifier": "math",
        "verifier_version": "1.2",
        "verifier_status": status,
        "seed": seed,
        "finish": finish,
    }
    if timings is not None:
        s["timings"] = timings
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    messages = {}
    messages["hello"] = msg("hello", role="worker", id="worker-7", capabilities=["budget_forcing", "cuda"],
                            pid=4242, host="node-ü1")
    messages["work_request"] = msg("work_request", worker_id="worker-7", max_groups=4, policy_version=12)
    messages["work"] = msg(
        "work", work_id=99, policy_version=12,
        sampling={"temperature": 0.75, "top_k": 50, "top_p": 0.9, "max_tokens": 256,
                  "seed": 2**64 - 1, "stop": ["</answer>", "\n\n"],
                  "budget": {"min_think_tokens": 32, "max_waits": 2, "max_think_tokens": 200,
                             "think_end_text": "</think>", "wait_text": "Wait", "answer_prefix": "<answer>"}},
        groups=[
            {"group_id": 1000, "prompt_ids": u32([1, 2, 3, 2**31 - 1]), "prompt": "What is 2+3?", "g": 8,
             "reference": "5", "verifier": "math"},
            {"group_id": 1001, "prompt_ids": u32([7]), "prompt": "", "g": 1,
             "reference": {"tests": [{"in": "1 2", "out": "3"}], "timeout": 1.5},
             "verifier": "code", "meta": {"difficulty": 3, "tags": ["easy", None, True]}},
        ])
    messages["trajectories"] = msg(
        "trajectories", work_id=99, worker_id="worker-7", policy_version=12,
        groups=[
            {"group_id": 1000, "prompt_ids": u32([1, 2, 3, 2**31 - 1]), "samples": [
                sample([10, 11, 12], [1, 0, 1], [-0.5, -0.0, -3.25], 1.0, {"accuracy": 1.0, "format": 0.5},
                       0.75, "ok", 17, "eos", {"generate": 0.125, "verify": 0.0}),
                sample([], [], [], 0.0, {}, -0.75, "timeout", 18, "length"),
            ]},
        ])
    w_small = f32([1.0, -2.0, 0.5, 3.0, 0.0, -0.25])
    w_bf16 = bytes(range(8))  # 4 bf16 values, raw bytes
    messages["weights"] = msg(
        "weights", version=13,
        tensors=[
            {"name": "model.norm.weight", "dtype": "F32", "shape": [2, 3], "data": w_small,
             "crc32c": crc32c.crc32c(w_small)},
            {"name": "lm_head.weight", "dtype": "BF16", "shape": [4], "data": w_bf16,
             "crc32c": crc32c.crc32c(w_bf16)},
            {"name": "scalar", "dtype": "I64", "shape": [], "data": struct.pack("<q", -5),
             "crc32c": crc32c.crc32c(struct.pack("<q", -5))},
        ])
    messages["heartbeat"] = msg("heartbeat", sender="learner", time=1700000000.5, status="busy")
    messages["stats"] = msg("stats", sender="worker-7", values={"tokens_per_s": 1234.5, "groups": 3.0})
    messages["shutdown"] = msg("shutdown", reason="run finished")
    messages["error"] = msg("error", code=-10, message="work 99: bad prompt", work_id=99)
    # GPU weight sync: the NCCL id, IPC handle and device UUID are opaque bytes.
    messages["wsync_init"] = msg("wsync_init", method="nccl", layout=0x8F3A5C7E12345678, bytes=988000256,
                                 bucket_bytes=64 << 20, timeout_ms=30000, unique_id=bytes(range(128)),
                                 rank=2, nranks=3)
    messages["wsync_init_ipc"] = msg("wsync_init", method="cuda_ipc", layout=0x8F3A5C7E12345678,
                                     bytes=988000256, bucket_bytes=64 << 20, timeout_ms=30000,
                                     handle=bytes(range(100, 164)), device=bytes(range(200, 216)), slots=2,
                                     slot_bytes=988000256)
    messages["wsync"] = msg("wsync", version=14, slot=1)
    messages["wsync_ack"] = msg("wsync_ack", worker_id="worker-7", version=14)

    for name, m in messages.items():
        data = msgpack.packb(m, use_bin_type=True)
        assert msgpack.unpackb(data, raw=False) == m
        with open(os.path.join(OUT, name + ".msgpack"), "wb") as f:
            f.write(data)
        print("%-14s %5d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()

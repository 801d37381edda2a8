/* fuzz_protocol.c — libFuzzer target for the message decoder (core/protocol).
 *
 * The input is split into ZeroMQ-like frames at each occurrence of the 4-byte
 * separator "FRM!" (most inputs have none: one frame), so that the weights
 * frame path is reached too. Property checked beyond "no crash, no leak":
 * a message that decodes re-encodes (with its tensors inline) into bytes that
 * decode again to the same type. Seeds: tests/fuzz/corpus/protocol/ (every
 * message type, written by test_protocol --write-corpus and msgpack-python). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/protocol.h"

enum { MAX_FRAMES = 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rlvr_frame frames[MAX_FRAMES];
  int n = 0;
  size_t start = 0;
  for (size_t i = 0; i + 4 <= size && n < MAX_FRAMES - 1; i++)
    if (!memcmp(data + i, "FRM!", 4)) {
      frames[n++] = (rlvr_frame){data + start, i - start};
      start = i + 4;
      i += 3;
    }
  frames[n++] = (rlvr_frame){data + start, size - start};
  if (frames[0].len == 0) return 0;

  rlvr_msg m;
  int rc = rlvr_msg_decode_frames(frames, n, &m);
  RLVR_CHECK(rc == RLVR_OK || rc == RLVR_ERR_PROTOCOL, "decode returned %d", rc);
  if (rc == RLVR_OK) {
    rlvr_buf b = {0};
    rc = rlvr_msg_encode(&m, 0, &b);
    RLVR_CHECK(rc == RLVR_OK, "re-encoding a decoded %s failed: %s", rlvr_msg_type_name(m.type), rlvr_error_message());
    rlvr_msg again;
    rc = rlvr_msg_decode(b.data, b.len, &again);
    RLVR_CHECK(rc == RLVR_OK && again.type == m.type, "a re-encoded %s does not decode: %s",
               rlvr_msg_type_name(m.type), rlvr_error_message());
    rlvr_msg_free(&again);
    rlvr_buf_free(&b);
  }
  rlvr_msg_free(&m);
  return 0;
}

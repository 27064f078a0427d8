/* fuzz_encode.c: libFuzzer target for the BPE encoder: decode(encode(x)) == x (make fuzz). */
#include "fuzz_encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_encode_one(data, size); }

/* fuzz_pack.c: libFuzzer target for JSON to msgpack, ifg-pack's path (make fuzz). */
#include "fuzz_pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_pack_one(data, size); }

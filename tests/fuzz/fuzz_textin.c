/* fuzz_textin.c: libFuzzer target for the textin parser (make fuzz). */
#include "fuzz_textin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_textin_one(data, size); }

/* fuzz_tokenizer.c: libFuzzer target for the tokenizer loaders (make fuzz). */
#include "fuzz_tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_tokenizer_one(data, size); }

/* fuzz_reader.c: libFuzzer target for the record reader (make fuzz). */
#include "fuzz_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_reader_one(data, size); }

/* fuzz.h - what the libFuzzer targets in tests/fuzz share.
 *
 * Each target gets the input in a buffer of exactly its size (libFuzzer
 * gives it so, and targets that need a copy make an exact-length one), so
 * AddressSanitizer reports any read past the end. A broken invariant is a
 * crash: FUZZ_CHECK prints what broke and aborts, and libFuzzer saves the
 * input.
 */
#ifndef PFS_FUZZ_H
#define PFS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
			#cond); \
		abort(); \
	} \
} while (0)

#endif

/* What the fuzz targets share.  Each fuzz_*.c defines the libFuzzer entry
 * point LLVMFuzzerTestOneInput over one parser; with --enable-fuzzing it is
 * linked with libFuzzer, otherwise with replay.c, which runs it once over
 * each file named on the command line (the seed corpora, in make check). */
#ifndef CT_FUZZ_H
#define CT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop on a broken property: an abort is a crash to both drivers. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(                                                                   \
			    stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* DATA as a new NUL-terminated string (NULL when out of memory). */
static inline char *
fuzz_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s != NULL) {
		if (size > 0)
			memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* A fresh private directory for the targets that need files (removed at
 * exit); aborts when it cannot be made. */
const char *fuzz_tmpdir(void);

#endif

/* Helpers of the fuzz targets that touch files. */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static char tmpdir[64];

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

/* The directory is ours (mkdtemp): its few files go with it. */
static void
remove_tmpdir(void)
{
	if (nftw(tmpdir, remove_one, 8, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

const char *
fuzz_tmpdir(void)
{
	if (tmpdir[0] != '\0')
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/ct-fuzz.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	atexit(remove_tmpdir);
	return tmpdir;
}

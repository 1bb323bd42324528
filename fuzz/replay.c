/* The fuzz targets' driver without libFuzzer: run the target once on each
 * file named, or on each file in each directory named, so the seed corpora
 * (and any input that once crashed) are replayed by make check with the
 * compiler and sanitizers the build uses.  Exit 0 when every input ran. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_MAX (1024 * 1024) /* bytes of one input */

/* Run the target on the file PATH; 0 or -1 when it cannot be read. */
static int
run_file(const char *path)
{
	unsigned char *buf;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(INPUT_MAX)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, INPUT_MAX, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

/* Run the target on every regular file in directory DIR; the count in *N. */
static int
run_dir(const char *dir, unsigned *n)
{
	char path[4096];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		rc = run_file(path);
		(*n)++;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat st;
	unsigned n = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue; /* libFuzzer options: nothing to do without it */
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &n) != 0)
				return 1;
		} else if (run_file(argv[i]) != 0)
			return 1;
		else
			n++;
	}
	printf("%s: %u inputs replayed\n", argv[0], n);
	return 0;
}

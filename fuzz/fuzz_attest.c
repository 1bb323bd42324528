/* An attestation chain (ct_attest_verify): PEM certificates, or one DER
 * certificate, checked against a trusted CA directory at a fixed time.
 * The CA, the attested key and the time are the ones fuzz/seeds made the
 * seeds with (attest_ca.h), so a seed chain verifies. */
#include "config.h"

#include <sys/stat.h>

#include "attest_ca.h"
#include "fuzz.h"
#include "keyproof.h"

static char ca_dir[128];

static void
make_ca_dir(void)
{
	char path[256];
	FILE *f;

	snprintf(ca_dir, sizeof(ca_dir), "%s/attest-ca", fuzz_tmpdir());
	snprintf(path, sizeof(path), "%s/ca.pem", ca_dir);
	if (mkdir(ca_dir, 0700) != 0 || (f = fopen(path, "w")) == NULL ||
	    fputs(ATTEST_CA_PEM, f) < 0 || fclose(f) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char subject[256];
	struct ct_err err = {0};

	if (ca_dir[0] == '\0')
		make_ca_dir();
	if (ct_attest_verify(ca_dir, data, size, attest_spki, sizeof(attest_spki), ATTEST_NOW,
	        subject, sizeof(subject), &err) == CT_OK)
		FUZZ_CHECK(memchr(subject, '\0', sizeof(subject)) != NULL);
	else
		FUZZ_CHECK(err.msg[0] != '\0');
	return 0;
}

/* An OpenSSH KRL (ct_sshkrl_check) asked about one CA key and serial. */
#include "config.h"

#include "fuzz.h"
#include "sshkrl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the CA key of the seed corpus (fuzz/seeds_ssh) is not needed: any
	 * blob is compared, and an empty one in a section means every CA */
	static const unsigned char ca[] = {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5',
	    '1', '9', 0, 0, 0, 32, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
	    19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
	struct ct_err err = {0};
	int revoked = -1;
	uint64_t serial;

	for (serial = 0; serial < 20; serial += 7)
		if (ct_sshkrl_check(data, size, ca, sizeof(ca), serial, &revoked, &err) == CT_OK)
			FUZZ_CHECK(revoked == 0 || revoked == 1);
	return 0;
}

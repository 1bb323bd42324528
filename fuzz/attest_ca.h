/* Made by fuzz/seeds with the corpus/attest seeds: the trusted maker CA,
 * the SubjectPublicKeyInfo the seeds attest, and a time they are valid at. */
#define ATTEST_CA_PEM \
	"-----BEGIN CERTIFICATE-----\n" \
	"MIIBiTCCAS+gAwIBAgIUZcTN98QAOUcyd8nbg+3x9abwnQ8wCgYIKoZIzj0EAwIw\n" \
	"GjEYMBYGA1UEAwwPRnV6eiBNYWtlciBSb290MB4XDTI2MTIwNTAwMjcxMFoXDTQ2\n" \
	"MTEzMDAwMjcxMFowGjEYMBYGA1UEAwwPRnV6eiBNYWtlciBSb290MFkwEwYHKoZI\n" \
	"zj0CAQYIKoZIzj0DAQcDQgAE7IAsEziGf1H3+F9D14/O1Ip1HG9G01l0d3oW9kdt\n" \
	"k5O+E+afBH0lXFMa59ClGUjxe8BEMabm90h8nxVKDc8om6NTMFEwHQYDVR0OBBYE\n" \
	"FEHW1PUJeK+ZCch81Q54kKfYUyAlMB8GA1UdIwQYMBaAFEHW1PUJeK+ZCch81Q54\n" \
	"kKfYUyAlMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAJW234VQ\n" \
	"HLvJv5B2tFJEfTVZKstN8aOv6w56JD2i6tPAAiB6v0eC5yaLhWkADcIQ0aa3vDeU\n" \
	"IjLTlV8AN7QxxGBtGw==\n" \
	"-----END CERTIFICATE-----\n" \
	""
#define ATTEST_NOW ((time_t)1796516830)
static const unsigned char attest_spki[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, 0xa1, 0x5c, 0x8b, 0x02, 0xe3, 0x7f, 0x27, 0xe5, 0x8d, 0xdc, 0xe0, 0x01, 0x94, 0x09, 0x49, 0xc6, 0x9d, 0x6c, 0xb4, 0x71, 0xc6, 0x86, 0xaa, 0xfc, 0xf9, 0x6d, 0x92, 0x2c, 0xb7, 0xdf, 0x85, 0x14};

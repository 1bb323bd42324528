/* Certificate revocation lists signed by an access group's CA. */
#ifndef CT_CRL_H
#define CT_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ca.h"
#include "ct.h"

/* A CRL of CA listing the N certificates SERIALS (index hex) revoked at
 * WHEN with REASONS (RFC 5280 codes), thisUpdate NOW, nextUpdate NOW +
 * NEXT_UPDATE seconds, CRL number NOW; PEM in a new string. */
int ct_crl_make(struct ct_ca *ca, const char *const *serials, const int64_t *when,
    const int *reasons, size_t n, time_t now, long next_update, char **pem, struct ct_err *err);

#endif

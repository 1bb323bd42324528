/* Subject and SAN patterns (PrivX ephemeral-certificate syntax).
 *
 * A pattern is a list of TYPE=VALUE items separated by '/'; '\' escapes the
 * next character (so a URI's slashes are written "\/").  VALUE may contain %attribute% references,
 * which are resolved at expansion time.  Splitting happens at parse time, so a '/' or
 * '=' inside a substituted value is data and never creates a new item. */
#ifndef CT_PATTERN_H
#define CT_PATTERN_H

#include <openssl/x509.h>

#include "attrs.h"
#include "ct.h"

#define CT_PATTERN_MAX_LEN 2048 /* characters in a pattern */
#define CT_PATTERN_MAX_ITEMS 32 /* RDNs or SAN entries */

/* CT_PATTERN_PRINCIPAL: one OpenSSH certificate principal, the whole text
 * a single value without a type ("%unix_account%", "deploy-%department%");
 * '/' and '=' are literal there.  A principal is printable ASCII without
 * spaces or commas (sshd's principal lists are comma-separated). */
enum ct_pattern_kind { CT_PATTERN_SUBJECT, CT_PATTERN_SAN, CT_PATTERN_PRINCIPAL };

struct ct_pattern;

/* Parse TEXT as a pattern of KIND.  On error, ERR says what and at which
 * character position (1-based) of TEXT, and *OUT is untouched. An empty
 * TEXT is a valid SAN pattern (no SANs) but not a valid subject pattern.
 * A value is refused here when its literal text, with one character per
 * attribute reference, already exceeds its type's upper bound. */
int ct_pattern_parse(
    enum ct_pattern_kind kind, const char *text, struct ct_pattern **out, struct ct_err *err);

void ct_pattern_free(struct ct_pattern *p);

/* Parse a strict dotted OID (at least two arcs, first arc 0-2, second arc
 * below 40 under 0 and 1, no leading zeros, at most 128 characters) into a
 * new object.  CT_OK, CT_EINVAL (syntax) or CT_ENOMEM; *OUT set on success. */
int ct_oid_parse(const char *text, ASN1_OBJECT **out);

/* Number of items in the pattern. */
size_t ct_pattern_count(const struct ct_pattern *p);

/* Call FN(ctx, name) for each %attribute% reference (as written); stops and
 * returns FN's value when it is non-zero. */
int ct_pattern_foreach_attr(
    const struct ct_pattern *p, int (*fn)(void *ctx, const char *name), void *ctx);

/* Expand a subject pattern with A into a new X509_NAME, RDNs in pattern order.
 * String types: PrintableString for C, serialNumber and dnQualifier;
 * IA5String for emailAddress and DC; UTF8String otherwise.  An unknown or
 * empty attribute, or a value that does not fit its type (its syntax, or
 * its X.520 / RFC 5280 upper bound in characters, named), fails with
 * CT_EINVAL naming the attribute or type and the pattern; nothing is cut. */
int ct_pattern_expand_subject(
    const struct ct_pattern *p, const struct ct_attrs *a, X509_NAME **out, struct ct_err *err);

/* Expand a SAN pattern with A and add the resulting extensions to CERT:
 * subjectAltName (non-critical, when the pattern has any SAN item: IP, DNS,
 * URI, email as an rfc822Name, UPN and othername entries) and the
 * Microsoft SID extension 1.3.6.1.4.1.311.25.2 (non-critical, when it has a
 * SID item).  Same error rules as ct_pattern_expand_subject. */
int ct_pattern_apply_san(
    const struct ct_pattern *p, const struct ct_attrs *a, X509 *cert, struct ct_err *err);

/* Expand a principal pattern with A into a new string (free it).  Same
 * error rules as ct_pattern_expand_subject. */
int ct_pattern_expand_text(
    const struct ct_pattern *p, const struct ct_attrs *a, char **out, struct ct_err *err);

#endif

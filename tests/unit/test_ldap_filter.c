#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attrs.h"
#include "attrsrc.h"
#include "ct.h"

/* ------------------------------------------------------------ escaping */

static void
escape_ok(const char *in, const char *want)
{
	struct ct_err err = {0};
	char out[256];

	assert_int_equal(ct_ldap_escape_filter(in, out, sizeof(out), &err), CT_OK);
	assert_string_equal(out, want);
	assert_string_equal(err.msg, "");
}

static void
test_escape_plain(void **state)
{
	(void)state;
	escape_ok("alice", "alice");
	escape_ok("", "");
	escape_ok("j.doe-1_x@example.org", "j.doe-1_x@example.org");
	escape_ok("J\xc3\xb6rg", "J\xc3\xb6rg"); /* UTF-8 passes through */
	escape_ok("a=b,c", "a=b,c"); /* not special inside a value */
}

static void
test_escape_specials(void **state)
{
	(void)state;
	escape_ok("*", "\\2a");
	escape_ok("(", "\\28");
	escape_ok(")", "\\29");
	escape_ok("\\", "\\5c");
	escape_ok("x*y", "x\\2ay");
	escape_ok("*)(uid=*", "\\2a\\29\\28uid=\\2a");
	escape_ok("\\2a", "\\5c2a"); /* an escape in the input is data */
}

static void
test_escape_buffer(void **state)
{
	struct ct_err err = {0};
	char out[8];

	(void)state;
	/* "a*b" needs 1 + 3 + 1 + NUL = 6 bytes */
	assert_int_equal(ct_ldap_escape_filter("a*b", out, 6, &err), CT_OK);
	assert_string_equal(out, "a\\2ab");
	memset(out, 'Z', sizeof(out));
	assert_int_equal(ct_ldap_escape_filter("a*b", out, 5, &err), CT_EINVAL);
	assert_int_equal(err.code, CT_EINVAL);
	assert_true(strlen(err.msg) > 0);
	assert_int_equal(out[0], 'Z'); /* nothing written on failure */
	ct_err_clear(&err);
	assert_int_equal(ct_ldap_escape_filter("", out, 0, &err), CT_EINVAL);
	ct_err_clear(&err);
	assert_int_equal(ct_ldap_escape_filter("", out, 1, &err), CT_OK);
	assert_string_equal(out, "");
}

/* ------------------------------------------------------------ filter building */

static void
build_ok(const char *tmpl, const char *user, const char *want)
{
	struct ct_err err = {0};
	char *out = NULL;

	assert_int_equal(ct_ldap_build_filter(tmpl, user, &out, &err), CT_OK);
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void
test_build_basic(void **state)
{
	(void)state;
	build_ok("(uid=%u)", "alice", "(uid=alice)");
	build_ok("(&(objectClass=posixAccount)(|(uid=%u)(mail=%u)))", "bob",
	    "(&(objectClass=posixAccount)(|(uid=bob)(mail=bob)))");
	build_ok("(description=100%%)", "x", "(description=100%)");
	build_ok("(cn=%%u%u)", "z", "(cn=%uz)");
	build_ok("(objectClass=*)", "ignored", "(objectClass=*)");
}

static void
test_build_injection(void **state)
{
	(void)state;
	/* without escaping these would match everyone or change the filter */
	build_ok("(uid=%u)", "*", "(uid=\\2a)");
	build_ok("(uid=%u)", "*)(uid=*", "(uid=\\2a\\29\\28uid=\\2a)");
	build_ok("(uid=%u)", "carol)", "(uid=carol\\29)");
	build_ok("(&(uid=%u)(objectClass=person))", "x)(|(uid=*",
	    "(&(uid=x\\29\\28|\\28uid=\\2a)(objectClass=person))");
	build_ok("(uid=%u)", "a\\29", "(uid=a\\5c29)");
}

static void
build_fails(const char *tmpl, const char *user, int want)
{
	struct ct_err err = {0};
	char *out = (char *)"untouched";

	assert_int_equal(ct_ldap_build_filter(tmpl, user, &out, &err), want);
	assert_int_equal(err.code, want);
	assert_true(strlen(err.msg) > 0);
	assert_string_equal(out, "untouched");
}

static void
test_build_errors(void **state)
{
	char big[3000];

	(void)state;
	build_fails("(uid=%x)", "alice", CT_ECONFIG);
	build_fails("(uid=%s)", "alice", CT_ECONFIG);
	build_fails("(uid=%U)", "alice", CT_ECONFIG);
	build_fails("(uid=%u)%", "alice", CT_ECONFIG);
	build_fails("", "alice", CT_ECONFIG);
	build_fails(NULL, "alice", CT_ECONFIG);
	/* 3000 '*' escape to 9000 bytes: too long, not truncated */
	memset(big, '*', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	build_fails("(uid=%u)", big, CT_EINVAL);
	/* the message names the bad sequence */
	{
		struct ct_err err = {0};
		char *out = NULL;

		assert_int_equal(ct_ldap_build_filter("(cn=%q)", "a", &out, &err), CT_ECONFIG);
		assert_non_null(strstr(err.msg, "%q"));
	}
}

/* ------------------------------------------------------------ passwd source */

static void
test_passwd_root(void **state)
{
	struct ct_err err = {0};
	struct ct_attrs *a = NULL;

	(void)state;
	assert_int_equal(ct_attrs_from_passwd("root", &a, &err), CT_OK);
	assert_non_null(a);
	assert_string_equal(ct_attrs_get(a, "principal"), "root");
	assert_string_equal(ct_attrs_get(a, "username"), "root");
	assert_string_equal(ct_attrs_get(a, "unix_account"), "root");
	assert_string_equal(ct_attrs_get(a, "source"), "passwd");
	assert_null(ct_attrs_get(a, "distinguishedname"));
	assert_null(ct_attrs_get(a, "company"));
	ct_attrs_free(a);
}

static void
test_passwd_missing(void **state)
{
	struct ct_err err = {0};
	struct ct_attrs *a = (struct ct_attrs *)0x1;

	(void)state;
	assert_int_equal(ct_attrs_from_passwd("no-such-user-ct-4711", &a, &err), CT_ENOENT);
	assert_ptr_equal(a, (struct ct_attrs *)0x1);
	assert_int_equal(err.code, CT_ENOENT);
	assert_non_null(strstr(err.msg, "no-such-user-ct-4711"));
	ct_err_clear(&err);
	assert_int_equal(ct_attrs_from_passwd("", &a, &err), CT_EINVAL);
}

/* ------------------------------------------------------------ configuration */

static void
test_conf_defaults(void **state)
{
	static const char *const want[CT_ATTR_STD_COUNT] = {"uid", "sAMAccountName", "uid",
	    "sAMAccountName", "cn", "givenName", "sn", NULL, "telephoneNumber", "o", "ou", "title",
	    NULL, "entryUUID"};
	struct ct_attr_conf c;
	int i;

	(void)state;
	assert_int_equal(ct_attr_conf_defaults(&c), CT_OK);
	assert_int_equal(c.source, CT_ATTR_SOURCE_PASSWD);
	assert_string_equal(c.ldap.uri, "ldap://127.0.0.1:389");
	assert_int_equal(c.ldap.starttls, 1);
	assert_null(c.ldap.base);
	assert_null(c.ldap.ca_file);
	assert_null(c.ldap.bind_dn);
	assert_null(c.ldap.bind_password_file);
	assert_string_equal(c.ldap.filter, "(uid=%u)");
	assert_int_equal(c.ldap.timeout, 3);
	for (i = 0; i < CT_ATTR_STD_COUNT; i++) {
		assert_non_null(ct_attr_standard_names[i]);
		if (want[i] == NULL)
			assert_null(c.ldap.map[i]);
		else
			assert_string_equal(c.ldap.map[i], want[i]);
	}
	assert_null(ct_attr_standard_names[CT_ATTR_STD_COUNT]);
	assert_int_equal(ct_attr_standard_index("distinguishedname"), 7);
	ct_attr_conf_clear(&c);
	assert_null(c.ldap.uri);
	assert_null(c.ldap.filter);
	for (i = 0; i < CT_ATTR_STD_COUNT; i++)
		assert_null(c.ldap.map[i]);
	ct_attr_conf_clear(&c); /* twice is harmless */
}

static void
test_conf_provides_passwd(void **state)
{
	static const char *const yes[] = {"principal", "username", "userprincipalname",
	    "unix_account", "name", "full_name", "first_name", "last_name", "telephone", "source",
	    "PRINCIPAL", NULL};
	static const char *const no[] = {"samaccountname", "windows_account", "distinguishedname",
	    "company", "department", "job_title", "external_id", "employeeNumber", "mail", NULL};
	struct ct_attr_conf c;
	int i;

	(void)state;
	assert_int_equal(ct_attr_conf_defaults(&c), CT_OK);
	for (i = 0; yes[i] != NULL; i++)
		assert_true(ct_attr_conf_provides(&c, yes[i]));
	for (i = 0; no[i] != NULL; i++)
		assert_false(ct_attr_conf_provides(&c, no[i]));
	ct_attr_conf_clear(&c);
}

static void
test_conf_provides_ldap(void **state)
{
	struct ct_attr_conf c;
	int i, company;

	(void)state;
	assert_int_equal(ct_attr_conf_defaults(&c), CT_OK);
	c.source = CT_ATTR_SOURCE_LDAP;
	for (i = 0; ct_attr_standard_names[i] != NULL; i++)
		assert_true(ct_attr_conf_provides(&c, ct_attr_standard_names[i]));
	assert_true(ct_attr_conf_provides(&c, "username"));
	assert_true(ct_attr_conf_provides(&c, "full_name"));
	assert_true(ct_attr_conf_provides(&c, "employeeNumber"));
	assert_true(ct_attr_conf_provides(&c, "mail"));
	assert_false(ct_attr_conf_provides(&c, "not valid"));
	company = ct_attr_standard_index("company");
	assert_true(company >= 0);
	free(c.ldap.map[company]);
	c.ldap.map[company] = NULL;
	assert_false(ct_attr_conf_provides(&c, "company"));
	ct_attr_conf_clear(&c);
}

/* ------------------------------------------------------------ sources */

static void
test_source_passwd(void **state)
{
	struct ct_attr_conf c;
	struct ct_attrsrc *s = NULL;
	struct ct_attrs *a = NULL;
	struct ct_err err = {0};

	(void)state;
	assert_int_equal(ct_attr_conf_defaults(&c), CT_OK);
	assert_int_equal(ct_attrsrc_open(&c, &s, &err), CT_OK);
	assert_int_equal(ct_attrsrc_lookup(s, "root", &a, &err), CT_OK);
	assert_string_equal(ct_attrs_get(a, "unix_account"), "root");
	ct_attrs_free(a);
	a = NULL;
	assert_int_equal(ct_attrsrc_lookup(s, "no-such-user-ct-4711", &a, &err), CT_ENOENT);
	assert_null(a);
	ct_attrsrc_close(s);
	ct_attrsrc_close(NULL);
	ct_attr_conf_clear(&c);
}

static void
test_source_ldap_config_errors(void **state)
{
	struct ct_attr_conf c;
	struct ct_attrsrc *s = NULL;
	struct ct_err err = {0};

	(void)state;
	assert_int_equal(ct_attr_conf_defaults(&c), CT_OK);
	c.source = CT_ATTR_SOURCE_LDAP;
	/* no base */
	assert_int_equal(ct_attrsrc_open(&c, &s, &err), CT_ECONFIG);
	assert_null(s);
	c.ldap.base = strdup("ou=people,dc=example,dc=org");
	/* bad filter template */
	free(c.ldap.filter);
	c.ldap.filter = strdup("(uid=%x)");
	ct_err_clear(&err);
	assert_int_equal(ct_attrsrc_open(&c, &s, &err), CT_ECONFIG);
	free(c.ldap.filter);
	c.ldap.filter = strdup("(uid=%u)");
	/* not an LDAP URL */
	free(c.ldap.uri);
	c.ldap.uri = strdup("http://127.0.0.1/");
	ct_err_clear(&err);
	assert_int_equal(ct_attrsrc_open(&c, &s, &err), CT_ECONFIG);
	free(c.ldap.uri);
	c.ldap.uri = strdup("ldap://127.0.0.1:1");
	/* bind_dn without a password file */
	c.ldap.bind_dn = strdup("cn=admin,dc=example,dc=org");
	ct_err_clear(&err);
	assert_int_equal(ct_attrsrc_open(&c, &s, &err), CT_ECONFIG);
	assert_null(s);
	ct_attr_conf_clear(&c);
}

/* Nothing listens on 127.0.0.1:1: connection refused is "unavailable". */
static void
test_source_ldap_refused(void **state)
{
	struct ct_attr_conf c;
	struct ct_attrsrc *s = NULL;
	struct ct_attrs *a = NULL;
	struct ct_err err = {0};

	(void)state;
	assert_int_equal(ct_attr_conf_defaults(&c), CT_OK);
	c.source = CT_ATTR_SOURCE_LDAP;
	c.ldap.starttls = 0;
	c.ldap.timeout = 1;
	free(c.ldap.uri);
	c.ldap.uri = strdup("ldap://127.0.0.1:1");
	c.ldap.base = strdup("ou=people,dc=example,dc=org");
	assert_int_equal(ct_attrsrc_open(&c, &s, &err), CT_OK);
	assert_int_equal(ct_attrsrc_lookup(s, "alice", &a, &err), CT_EUNAVAIL);
	assert_null(a);
	assert_non_null(strstr(err.msg, "ldap://127.0.0.1:1"));
	assert_null(strchr(err.msg, '\n'));
	/* the next lookup tries again and fails the same way */
	ct_err_clear(&err);
	assert_int_equal(ct_attrsrc_lookup(s, "alice", &a, &err), CT_EUNAVAIL);
	ct_err_clear(&err);
	assert_int_equal(ct_attrsrc_lookup(s, "", &a, &err), CT_EINVAL);
	ct_attrsrc_close(s);
	ct_attr_conf_clear(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_plain),
	    cmocka_unit_test(test_escape_specials),
	    cmocka_unit_test(test_escape_buffer),
	    cmocka_unit_test(test_build_basic),
	    cmocka_unit_test(test_build_injection),
	    cmocka_unit_test(test_build_errors),
	    cmocka_unit_test(test_passwd_root),
	    cmocka_unit_test(test_passwd_missing),
	    cmocka_unit_test(test_conf_defaults),
	    cmocka_unit_test(test_conf_provides_passwd),
	    cmocka_unit_test(test_conf_provides_ldap),
	    cmocka_unit_test(test_source_passwd),
	    cmocka_unit_test(test_source_ldap_config_errors),
	    cmocka_unit_test(test_source_ldap_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

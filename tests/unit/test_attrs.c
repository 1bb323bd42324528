#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "attrs.h"

static void
assert_msg(const struct ct_err *err, const char *want)
{
	if (strstr(err->msg, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err->msg, want);
}

static int
setup(void **state)
{
	*state = ct_attrs_new();
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	ct_attrs_free(*state);
	return 0;
}

static void
test_set_get(void **state)
{
	struct ct_attrs *a = *state;
	struct ct_err err = { 0 };

	assert_null(ct_attrs_get(a, "principal"));
	assert_int_equal(ct_attrs_set(a, "principal", "alice@EXAMPLE.COM", &err), CT_OK);
	assert_string_equal(ct_attrs_get(a, "principal"), "alice@EXAMPLE.COM");
	assert_string_equal(ct_attrs_get(a, "Principal"), "alice@EXAMPLE.COM");
	/* set replaces */
	assert_int_equal(ct_attrs_set(a, "PRINCIPAL", "bob", &err), CT_OK);
	assert_string_equal(ct_attrs_get(a, "principal"), "bob");
	/* an empty value is stored as empty, not as absent */
	assert_int_equal(ct_attrs_set(a, "company", "", &err), CT_OK);
	assert_non_null(ct_attrs_get(a, "company"));
	assert_string_equal(ct_attrs_get(a, "company"), "");
	assert_null(ct_attrs_get(a, "department"));
	/* only standard names can be set */
	assert_int_equal(ct_attrs_set(a, "mail", "x", &err), CT_EINVAL);
	assert_msg(&err, "'mail' is not a standard attribute");
	assert_null(ct_attrs_get(a, "mail"));
}

static void
test_standard_names(void **state)
{
	static const char *const want[] = {
		"principal", "samaccountname", "unix_account", "windows_account", "name",
		"first_name", "last_name", "distinguishedname", "telephone", "company",
		"department", "job_title", "source", "external_id",
	};
	struct ct_attrs *a = *state;
	struct ct_err err = { 0 };
	char value[32];
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_non_null(ct_attr_standard_names[i]);
		assert_string_equal(ct_attr_standard_names[i], want[i]);
		assert_string_equal(ct_attr_canonical(want[i]), want[i]);
		snprintf(value, sizeof(value), "v%zu", i);
		assert_int_equal(ct_attrs_set(a, want[i], value, &err), CT_OK);
	}
	assert_null(ct_attr_standard_names[i]);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(value, sizeof(value), "v%zu", i);
		assert_string_equal(ct_attrs_get(a, want[i]), value);
	}
}

static void
test_aliases(void **state)
{
	struct ct_attrs *a = *state;
	struct ct_err err = { 0 };

	assert_string_equal(ct_attr_canonical("username"), "principal");
	assert_string_equal(ct_attr_canonical("UserPrincipalName"), "principal");
	assert_string_equal(ct_attr_canonical("full_name"), "name");
	assert_null(ct_attr_canonical("mail"));
	assert_null(ct_attr_canonical("user"));

	assert_int_equal(ct_attrs_set(a, "username", "alice", &err), CT_OK);
	assert_string_equal(ct_attrs_get(a, "principal"), "alice");
	assert_string_equal(ct_attrs_get(a, "userprincipalname"), "alice");
	assert_string_equal(ct_attrs_get(a, "USERNAME"), "alice");
	assert_int_equal(ct_attrs_set(a, "name", "Alice Example", &err), CT_OK);
	assert_string_equal(ct_attrs_get(a, "full_name"), "Alice Example");
	assert_int_equal(ct_attrs_set(a, "full_name", "A. Example", &err), CT_OK);
	assert_string_equal(ct_attrs_get(a, "name"), "A. Example");
}

static void
test_raw_standard_separation(void **state)
{
	struct ct_attrs *a = *state;
	struct ct_err err = { 0 };
	const char *name, *value;
	char kind;

	/* a raw entry under a standard name is not read by the standard lookup */
	assert_int_equal(ct_attrs_add_raw(a, "company", "raw corp", &err), CT_OK);
	assert_null(ct_attrs_get(a, "company"));
	assert_int_equal(ct_attrs_set(a, "company", "std corp", &err), CT_OK);
	assert_string_equal(ct_attrs_get(a, "company"), "std corp");
	/* a custom name reads only raw entries */
	assert_int_equal(ct_attrs_set(a, "name", "Alice", &err), CT_OK);
	assert_null(ct_attrs_get(a, "cn"));
	assert_null(ct_attrs_get(a, "displayName"));
	assert_int_equal(ct_attrs_add_raw(a, "displayName", "Alice D", &err), CT_OK);
	assert_string_equal(ct_attrs_get(a, "displayname"), "Alice D");
	assert_string_equal(ct_attrs_get(a, "name"), "Alice");
	/* an alias used as a raw name does not touch the standard entry */
	assert_int_equal(ct_attrs_add_raw(a, "username", "raw-user", &err), CT_OK);
	assert_null(ct_attrs_get(a, "username"));

	/* iteration shows both kinds in insertion order */
	assert_int_equal(ct_attrs_entry(a, 0, &kind, &name, &value), 0);
	assert_int_equal(kind, 'r');
	assert_string_equal(name, "company");
	assert_string_equal(value, "raw corp");
	assert_int_equal(ct_attrs_entry(a, 1, &kind, &name, &value), 0);
	assert_int_equal(kind, 's');
	assert_string_equal(name, "company");
	assert_string_equal(value, "std corp");
	assert_int_equal(ct_attrs_entry(a, 5, &kind, &name, &value), -1);
}

static void
test_first_raw_value_kept(void **state)
{
	struct ct_attrs *a = *state;
	struct ct_err err = { 0 };

	assert_int_equal(ct_attrs_add_raw(a, "mail", "first@example.com", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "mail", "second@example.com", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(a, "MAIL", "third@example.com", &err), CT_OK);
	assert_string_equal(ct_attrs_get(a, "mail"), "first@example.com");
	assert_string_equal(ct_attrs_get(a, "Mail"), "first@example.com");
	assert_int_equal(err.msg[0], '\0');
}

static void
test_value_limit(void **state)
{
	struct ct_attrs *a = *state;
	struct ct_err err = { 0 };
	char value[CT_ATTR_VALUE_MAX + 2];

	memset(value, 'v', CT_ATTR_VALUE_MAX);
	value[CT_ATTR_VALUE_MAX] = '\0';
	assert_int_equal(ct_attrs_set(a, "company", value, &err), CT_OK);
	assert_int_equal(strlen(ct_attrs_get(a, "company")), CT_ATTR_VALUE_MAX);
	assert_int_equal(ct_attrs_add_raw(a, "mail", value, &err), CT_OK);

	value[CT_ATTR_VALUE_MAX] = 'v';
	value[CT_ATTR_VALUE_MAX + 1] = '\0';
	assert_int_equal(ct_attrs_set(a, "department", value, &err), CT_EINVAL);
	assert_msg(&err, "attribute 'department' is longer than 1024 bytes");
	assert_null(ct_attrs_get(a, "department"));
	ct_err_clear(&err);
	assert_int_equal(ct_attrs_add_raw(a, "title", value, &err), CT_EINVAL);
	assert_msg(&err, "longer than 1024 bytes");
	assert_null(ct_attrs_get(a, "title"));
	/* a too-long replacement keeps the old value */
	assert_int_equal(ct_attrs_set(a, "company", value, &err), CT_EINVAL);
	assert_int_equal(strlen(ct_attrs_get(a, "company")), CT_ATTR_VALUE_MAX);
}

static void
test_invalid_names(void **state)
{
	static const char *const bad[] = {
		"", "1abc", "_x", "-x", "a b", "a.b", "a%", "a/b", "\xc3\xa4",
		"a2345678901234567890123456789012345678901234567890123456789012345", /* 65 */
	};
	struct ct_attrs *a = *state;
	struct ct_err err = { 0 };
	size_t i;

	assert_true(ct_attr_name_valid("a"));
	assert_true(ct_attr_name_valid("employee-Number_2"));
	assert_true(ct_attr_name_valid(
	    "a234567890123456789012345678901234567890123456789012345678901234")); /* 64 */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(ct_attr_name_valid(bad[i]));
		ct_err_clear(&err);
		assert_int_equal(ct_attrs_add_raw(a, bad[i], "x", &err), CT_EINVAL);
		assert_msg(&err, "is not a valid attribute name");
	}
	assert_int_equal(ct_attrs_entry(a, 0, &(char){ 0 }, &(const char *){ NULL },
	    &(const char *){ NULL }), -1);
}

static void
test_entry_limit(void **state)
{
	struct ct_attrs *a = *state;
	struct ct_err err = { 0 };
	char name[32];
	size_t i;

	for (i = 0; i < CT_ATTRS_MAX; i++) {
		snprintf(name, sizeof(name), "a%zu", i);
		assert_int_equal(ct_attrs_add_raw(a, name, "x", &err), CT_OK);
	}
	assert_int_equal(ct_attrs_add_raw(a, "one_more", "x", &err), CT_EINVAL);
	assert_msg(&err, "more than 256 attributes");
	assert_null(ct_attrs_get(a, "one_more"));
	/* an existing entry can still be looked up and a duplicate is a no-op */
	assert_int_equal(ct_attrs_add_raw(a, "a0", "y", &err), CT_OK);
	assert_string_equal(ct_attrs_get(a, "a255"), "x");
	ct_attrs_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_standard_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_standard_separation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_raw_value_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_limit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

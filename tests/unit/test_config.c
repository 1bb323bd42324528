/* Configuration loading and strict validation. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "conf.h"

/* Load TEXT; expect failure and a problem matching each NEEDLE (NULL-ended). */
static void
expect_problems(const char *text, size_t count, ...)
{
	struct ct_diag diag = {0};
	struct ct_config *c = NULL;
	struct ct_err err = {0};
	const char *needle;
	va_list ap;
	size_t i;
	int found;

	assert_int_equal(ct_config_load_string(text, "t.conf", &c, &diag, &err), CT_ECONFIG);
	assert_null(c);
	assert_int_equal(err.code, CT_ECONFIG);
	if (diag.n != count)
		for (i = 0; i < diag.n; i++)
			fprintf(stderr, "problem: %s\n", diag.msg[i]);
	assert_int_equal(diag.n, count);
	va_start(ap, count);
	while ((needle = va_arg(ap, const char *)) != NULL) {
		for (found = 0, i = 0; i < diag.n; i++)
			found |= strstr(diag.msg[i], needle) != NULL;
		if (!found)
			fail_msg("no problem mentions \"%s\" (first: %s)", needle, diag.msg[0]);
	}
	va_end(ap);
	ct_diag_clear(&diag);
}

static struct ct_config *
load_ok(const char *text)
{
	struct ct_diag diag = {0};
	struct ct_config *c = NULL;
	struct ct_err err = {0};

	if (ct_config_load_string(text, "t.conf", &c, &diag, &err) != CT_OK)
		fail_msg("unexpected problem: %s", err.msg);
	return c;
}

static void
test_embedded_default(void **state)
{
	struct ct_config *c = load_ok("");
	const struct ct_target *t;

	(void)state;
	assert_string_equal(c->store_backend, "files");
	assert_string_equal(c->store_path, LOCALSTATEDIR "/lib/certtoken");
	assert_string_equal(c->socket_path, "/run/certtoken/enroll.sock");
	assert_int_equal(c->attributes.source, CT_ATTR_SOURCE_PASSWD);
	assert_int_equal(c->n_groups, 1);
	assert_int_equal(c->groups[0].key_type, CT_KEY_EC_P256);
	assert_non_null(t = ct_config_target(c, "default"));
	assert_ptr_equal(t->group, ct_config_group(c, "default"));
	assert_ptr_equal(t->template, ct_config_template(c, "client"));
	assert_string_equal(t->subject_text, "CN=%unix_account%");
	assert_int_equal(t->lifetime, 3600);
	assert_int_equal(t->backdate, 60);
	assert_int_equal(c->otp.digits, 6);
	assert_int_equal(c->otp.period, 30);
	assert_int_equal(c->service.max_clients, 64);
	assert_int_equal(c->service.max_per_user, 4);
	assert_int_equal(c->service.timeout, 120);
	assert_int_equal(c->service.ldap_connections, 4);
	ct_config_free(c);
}

static void
test_full_config(void **state)
{
	struct ct_config *c = load_ok(
	    "store: { backend = \"files\"; path = \"/srv/ct\"; };\n"
	    "socket = \"/run/x.sock\";\n"
	    "attributes: { source = \"ldap\"; ldap: { uri = \"ldaps://dir:636\"; base = \"dc=x\";\n"
	    "  bind_dn = \"cn=a\"; bind_password_file = \"/etc/pw\"; timeout = 5;\n"
	    "  map: { company = \"o\"; full_name = \"displayName\"; }; }; };\n"
	    "otp: { digits = 8; period = 60; window = 2; hotp_lookahead = 20; max_fail = 5;\n"
	    "       lock_seconds = 60; };\n"
	    "service: { max_clients = 8; max_per_user = 2; timeout = 30; ldap_connections = 2; };\n"
	    "access_groups = ( { name = \"a\"; key_type = \"ed25519\"; ca_days = 10;\n"
	    "                    unix_groups = [\"developers\", \"ops\"]; },\n"
	    "                  { name = \"b\"; key_type = \"rsa3072\"; } );\n"
	    "templates = ( { name = \"t\"; key_usage = [\"DigitalSignature\", \"KeyAgreement\"];\n"
	    "                extended_key_usage = [\"ClientAuth\", \"1.2.3.4\"]; } );\n"
	    "ca_connectors = ( { name = \"l\"; type = \"local\"; } );\n"
	    "targets = ( { name = \"x\"; access_group = \"b\"; template = \"t\"; ca_connector = "
	    "\"l\";\n"
	    "  subject = \"CN=%unix_account%/O=%company%\"; san = \"UPN=%principal%\";\n"
	    "  lifetime = 120; backdate = 5; } );\n");
	const struct ct_target *t = ct_config_target(c, "x");

	(void)state;
	assert_string_equal(c->store_path, "/srv/ct");
	assert_int_equal(c->attributes.source, CT_ATTR_SOURCE_LDAP);
	assert_string_equal(c->attributes.ldap.uri, "ldaps://dir:636");
	assert_int_equal(c->attributes.ldap.timeout, 5);
	assert_string_equal(c->attributes.ldap.map[ct_attr_standard_index("company")], "o");
	assert_string_equal(c->attributes.ldap.map[ct_attr_standard_index("name")], "displayName");
	assert_int_equal(c->otp.digits, 8);
	assert_int_equal(c->service.max_clients, 8);
	assert_int_equal(c->service.max_per_user, 2);
	assert_int_equal(c->service.timeout, 30);
	assert_int_equal(c->service.ldap_connections, 2);
	assert_int_equal(c->n_groups, 2);
	assert_int_equal(ct_config_group(c, "b")->key_type, CT_KEY_RSA3072);
	assert_int_equal(ct_config_group(c, "a")->n_unix_groups, 2);
	assert_string_equal(ct_config_group(c, "a")->unix_groups[1], "ops");
	assert_int_equal(ct_config_group(c, "b")->n_unix_groups, 0); /* everyone */
	assert_non_null(t);
	assert_string_equal(t->group->name, "b");
	assert_string_equal(t->connector->name, "l");
	assert_int_equal(t->template->n_eku, 2);
	assert_int_equal(t->lifetime, 120);
	assert_int_equal(t->backdate, 5);
	assert_int_equal(ct_pattern_count(t->subject), 2);
	ct_config_free(c);
}

/* CA connectors, attestation, mail and event handlers. */
static void
test_connectors_and_events(void **state)
{
	struct ct_config *c = load_ok(
	    "attestation: { ca_dir = \"/etc/certtoken/attestation\"; };\n"
	    "mail: { sendmail = \"/bin/true\"; from = \"ca@example.org\"; timeout = 5;\n"
	    "        address_attribute = \"mail\"; };\n"
	    "ca_connectors = ( { name = \"local\"; type = \"local\"; },\n"
	    "  { name = \"approval\"; type = \"queue\"; },\n"
	    "  { name = \"ext\"; type = \"command\"; command = [\"/usr/bin/sign\", \"-x\"];\n"
	    "    timeout = 7; } );\n"
	    "targets = ( { name = \"q\"; access_group = \"default\"; subject = \"CN=a\";\n"
	    "  ca_connector = \"approval\"; require_attestation = true; },\n"
	    "  { name = \"e\"; access_group = \"default\"; subject = \"CN=a\";\n"
	    "  ca_connector = \"ext\"; } );\n"
	    "events = ( { event = \"token_init\"; when = { rollout_state = \"pending\"; };\n"
	    "    action = \"email\"; to = \"tokenowner\"; subject = \"{serial} is "
	    "{rollout_state}\"; },\n"
	    "  { event = \"token_revoked\"; action = \"command\";\n"
	    "    command = [\"/usr/bin/logger\", \"{user}\", \"{{x}}\"]; },\n"
	    "  { event = \"cert_expiring\"; action = \"syslog\"; body = \"{cert_serial}\"; } );\n");
	const struct ct_target *q = ct_config_target(c, "q"), *e = ct_config_target(c, "e");

	(void)state;
	assert_string_equal(c->attestation_ca_dir, "/etc/certtoken/attestation");
	assert_string_equal(c->mail.sendmail, "/bin/true");
	assert_string_equal(c->mail.from, "ca@example.org");
	assert_int_equal(c->mail.timeout, 5);
	assert_int_equal(q->connector->type, CT_CONNECTOR_QUEUE);
	assert_true(q->require_attestation);
	assert_int_equal(e->connector->type, CT_CONNECTOR_COMMAND);
	assert_false(e->require_attestation);
	assert_string_equal(e->connector->argv[0], "/usr/bin/sign");
	assert_string_equal(e->connector->argv[1], "-x");
	assert_null(e->connector->argv[2]);
	assert_int_equal(e->connector->timeout, 7);
	assert_int_equal(c->n_events, 3);
	assert_string_equal(c->events[0].event, "token_init");
	assert_int_equal(c->events[0].n_when, 1);
	assert_string_equal(c->events[0].when[0].field, "rollout_state");
	assert_string_equal(c->events[0].when[0].value, "pending");
	assert_int_equal(c->events[0].action, CT_ACTION_EMAIL);
	assert_string_equal(c->events[0].to, "tokenowner");
	assert_non_null(c->events[0].body); /* a default body */
	assert_int_equal(c->events[1].action, CT_ACTION_COMMAND);
	assert_string_equal(c->events[1].argv[2], "{{x}}");
	assert_int_equal(c->events[2].action, CT_ACTION_SYSLOG);
	ct_config_free(c);

	/* the embedded default: mail defaults, no handlers */
	c = load_ok("");
	assert_string_equal(c->mail.sendmail, "/usr/sbin/sendmail");
	assert_int_equal(c->n_events, 0);
	assert_null(c->attestation_ca_dir);
	ct_config_free(c);

	expect_problems("ca_connectors = ( { name = \"local\"; type = \"command\"; } );\n", 1,
	    "needs 'command'", NULL);
	expect_problems("ca_connectors = ( { name = \"local\"; type = \"command\";\n"
	                "  command = [\"sign-csr\"]; } );\n",
	    1, "must be an absolute path (no shell", NULL);
	expect_problems("ca_connectors = ( { name = \"local\"; type = \"queue\";\n"
	                "  command = [\"/bin/x\"]; } );\n",
	    1, "are for type command", NULL);
	expect_problems("ca_connectors = ( { name = \"local\"; type = \"command\";\n"
	                "  command = [\"/bin/x\"]; timeout = 0; } );\n",
	    1, "'timeout' must be between 1 and 600", NULL);
	expect_problems("targets = ( { name = \"x\"; access_group = \"default\"; subject = "
	                "\"CN=a\"; require_attestation = true; } );\n",
	    1, "no attestation.ca_dir is configured", NULL);
	expect_problems(
	    "attestation: { ca_dir = \"rel\"; };\n", 1, "must be an absolute path", NULL);
	expect_problems("mail: { sendmail = \"sendmail\"; from = \"-oQ@x\"; };\n", 2,
	    "mail.sendmail 'sendmail' must be an absolute path", "mail.from '-oQ@x' is not", NULL);
	expect_problems("events = ( { event = \"token_exploded\"; action = \"syslog\"; } );\n", 1,
	    "unknown event 'token_exploded'", NULL);
	expect_problems("events = ( { event = \"token_init\"; action = \"pager\"; } );\n", 1,
	    "unknown action 'pager'", NULL);
	expect_problems("events = ( { event = \"token_init\"; action = \"email\"; } );\n", 1,
	    "missing required key 'to'", NULL);
	expect_problems("events = ( { event = \"token_init\"; action = \"email\";\n"
	                "  to = \"a@b\\nBcc: x@y\"; } );\n",
	    1, "'to' must be \"tokenowner\" or an e-mail address", NULL);
	expect_problems("events = ( { event = \"token_init\"; action = \"syslog\";\n"
	                "  when = { colour = \"red\"; }; } );\n",
	    1, "unknown condition 'colour'", NULL);
	expect_problems("events = ( { event = \"token_init\"; action = \"syslog\";\n"
	                "  body = \"{password}\"; } );\n",
	    1, "unknown placeholder {password}", NULL);
	expect_problems("events = ( { event = \"token_init\"; action = \"email\"; to = \"a@b\";\n"
	                "  subject = \"a\\nBcc: c@d\"; } );\n",
	    1, "the subject must be one line", NULL);
	expect_problems("events = ( { event = \"token_init\"; action = \"command\";\n"
	                "  command = [\"/bin/x\", \"{oops\"]; } );\n",
	    1, "'{' without '}'", NULL);
}

static void
test_unknown_keys(void **state)
{
	(void)state;
	expect_problems(
	    "colour = 1;\n", 1, "t.conf:1: unknown key 'colour' in the top level", NULL);
	expect_problems("store: { path = \"/x\"; size = 3; };\n", 1,
	    "t.conf:1: unknown key 'size' in store", NULL);
	expect_problems(
	    "otp: {\n digit = 6;\n};\n", 1, "t.conf:2: unknown key 'digit' in otp", NULL);
	expect_problems("attributes: { source = \"ldap\"; ldap: { base = \"x\"; map: {\n"
	                "  shoe_size = \"x\"; }; }; };\n",
	    1, "t.conf:2: unknown key 'shoe_size' in attributes.ldap.map", NULL);
	expect_problems(
	    "events = ( { event = \"token_init\"; action = \"syslog\"; colour = 1; } );\n", 1,
	    "unknown key 'colour' in event handler", NULL);
}

static void
test_wrong_types(void **state)
{
	(void)state;
	expect_problems("store = \"/x\";\n", 1, "'store' must be a group", NULL);
	expect_problems("store: { path = 5; };\n", 1, "'path' must be a string", NULL);
	expect_problems("otp: { digits = \"6\"; };\n", 1, "'digits' must be an integer", NULL);
	expect_problems("otp: { digits = 9; };\n", 1, "'digits' must be between 6 and 8", NULL);
	expect_problems("access_groups = ( { name = \"default\"; unix_groups = []; } );\n", 1,
	    "unix_groups must name 1 to 32 groups", NULL);
	expect_problems("access_groups = ( { name = \"default\"; unix_groups = [\"a b\"]; } );\n",
	    1, "unix_groups: 'a b' is not a group name", NULL);
	expect_problems("access_groups = ( { name = \"default\"; unix_groups = \"wheel\"; } );\n",
	    1, "'unix_groups' must be a list of strings", NULL);
	expect_problems("service: { max_clients = 0; };\n", 1,
	    "'max_clients' must be between 1 and 1024", NULL);
	expect_problems(
	    "service: { timeout = 3601; };\n", 1, "'timeout' must be between 1 and 3600", NULL);
	expect_problems("service: { ldap_connection = 2; };\n", 1,
	    "t.conf:1: unknown key 'ldap_connection' in service", NULL);
	expect_problems("attributes: { ldap: { starttls = 1; }; };\n", 1,
	    "'starttls' must be true or false", NULL);
	expect_problems("targets = { name = \"x\"; };\n", 1, "'targets' must be a list", NULL);
	expect_problems(
	    "templates = ( { name = \"client\"; key_usage = \"DigitalSignature\"; } );\n", 1,
	    "must be a list of strings", NULL);
}

static void
test_references_and_names(void **state)
{
	(void)state;
	expect_problems("targets = ( { name = \"x\"; access_group = \"nope\";\n"
	                "  subject = \"CN=a\"; } );\n",
	    1, "access group 'nope' is not defined", NULL);
	expect_problems(
	    "targets = ( { name = \"x\"; access_group = \"default\"; template = \"z\";\n"
	    "  subject = \"CN=a\"; ca_connector = \"q\"; } );\n",
	    2, "template 'z' is not defined", "CA connector 'q' is not defined", NULL);
	expect_problems("access_groups = ( { name = \"a\"; }, { name = \"a\"; } );\n", 2,
	    "duplicate access group name 'a'", "access group 'default' is not defined", NULL);
	expect_problems("access_groups = ( { name = \"../etc\"; } );\n", 2,
	    "access group name '../etc' is not valid", NULL);
	expect_problems("targets = ( { access_group = \"default\"; subject = \"CN=a\"; } );\n", 1,
	    "missing required key 'name'", NULL);
	expect_problems("targets = ( { name = \"x\"; access_group = \"default\"; } );\n", 1,
	    "missing required key 'subject'", NULL);
	expect_problems("ca_connectors = ( { name = \"local\"; type = \"x509\"; } );\n", 1,
	    "CA connector type 'x509' is not supported", NULL);
	expect_problems("access_groups = ();\n", 2, "'access_groups' is empty", NULL);
	expect_problems("templates = ( { name = \"client\"; key_usage = [ \"CertSign\" ]; } );\n",
	    1, "CertSign is not allowed in a leaf certificate", NULL);
}

static void
test_patterns_and_attributes(void **state)
{
	(void)state;
	expect_problems("targets = ( { name = \"x\"; access_group = \"default\";\n"
	                "  subject = \"CN=a/XX=b\"; } );\n",
	    1, "t.conf:2: target 'x': subject pattern 'CN=a/XX=b': position 6", NULL);
	expect_problems("targets = ( { name = \"x\"; access_group = \"default\";\n"
	                "  subject = \"CN=a\"; san = \"IP=999.1.1.1\"; } );\n",
	    1, "san pattern 'IP=999.1.1.1'", NULL);
	/* passwd cannot provide company; ldap can (and any custom attribute) */
	expect_problems("targets = ( { name = \"x\"; access_group = \"default\";\n"
	                "  subject = \"CN=%company%\"; } );\n",
	    1, "uses %company%, which the passwd attribute source does not provide", NULL);
	ct_config_free(load_ok("attributes: { source = \"ldap\"; ldap: { base = \"dc=x\"; }; };\n"
	                       "targets = ( { name = \"x\"; access_group = \"default\";\n"
	                       "  subject = \"CN=%company%/O=%employeeNumber%\"; } );\n"));
	expect_problems("attributes: { source = \"ldap\"; ldap: { }; };\n", 1,
	    "missing required key 'base'", NULL);
	expect_problems(
	    "attributes: { source = \"ldap\"; ldap: { base = \"x\"; filter = \"(uid=a)\"; }; };\n",
	    1, "must contain %u", NULL);
	expect_problems(
	    "attributes: { source = \"ldap\"; ldap: { base = \"x\"; uri = \"http://x\"; }; };\n", 1,
	    "must start with ldap://", NULL);
	expect_problems("attributes: { source = \"nis\"; };\n", 1,
	    "attributes source 'nis' is not supported", NULL);
}

static void
test_many_problems_at_once(void **state)
{
	(void)state;
	expect_problems("a = 1;\nb = 2;\nstore: { path = \"rel\"; };\n"
	                "otp: { digits = 1; period = 1; };\n",
	    5, "t.conf:1: unknown key 'a'", "t.conf:2: unknown key 'b'", "must be absolute",
	    "'digits' must be between", "'period' must be between", NULL);
}

static void
test_syntax_error(void **state)
{
	(void)state;
	expect_problems("store: { path = \"/x\" }\nbroken\n", 1, "t.conf: line", NULL);
}

static void
test_file_checks(void **state)
{
	char dir[] = "/tmp/ct-conf-XXXXXX", path[64];
	struct ct_config *c = NULL;
	struct ct_err err = {0};
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	/* a missing default path is the embedded default, a missing explicit one an error */
	assert_int_equal(ct_config_load(path, 0, &c, NULL, &err), CT_OK);
	assert_string_equal(c->path, "(embedded default)");
	ct_config_free(c);
	c = NULL;
	assert_int_equal(ct_config_load(path, 1, &c, NULL, &err), CT_ECONFIG);
	assert_non_null(f = fopen(path, "w"));
	fputs("socket = \"/run/s\";\n", f);
	fclose(f);
	chmod(path, 0644);
	ct_err_clear(&err);
	assert_int_equal(ct_config_load(path, 1, &c, NULL, &err), CT_OK);
	assert_string_equal(c->socket_path, "/run/s");
	ct_config_free(c);
	c = NULL;
	chmod(path, 0664);
	assert_int_equal(ct_config_load(path, 1, &c, NULL, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "not writable by group or others"));
	unlink(path);
	rmdir(dir);
}

/* KeyEncipherment with an EC or Ed25519 access group is refused at the
 * target's line, naming template, target and group; RSA is fine. */
static void
test_key_encipherment_needs_rsa(void **state)
{
	static const char fmt[] =
	    "access_groups = ( { name = \"g\"; key_type = \"%s\"; } );\n"
	    "templates = ( { name = \"enc\"; key_usage = [ \"DigitalSignature\",\n"
	    "  \"KeyEncipherment\" ]; } );\n"
	    "targets = ( { name = \"t\"; access_group = \"g\";\n"
	    "  template = \"enc\"; subject = \"CN=a\"; } );\n";
	static const char *const refused[] = {"ec-p256", "ec-p384", "ed25519"};
	static const char *const allowed[] = {"rsa2048", "rsa3072", "rsa4096"};
	char text[512], want[256];
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), fmt, refused[i]);
		snprintf(want, sizeof(want),
		    "t.conf:5: target 't': template 'enc' has KeyEncipherment, which access "
		    "group 'g' (key_type %s) cannot use",
		    refused[i]);
		expect_problems(text, 1, want, "RFC 5480 section 3, RFC 8410 section 5", NULL);
		snprintf(text, sizeof(text), fmt, allowed[i]);
		ct_config_free(load_ok(text));
	}
	/* KeyAgreement, DigitalSignature: fine with EC */
	ct_config_free(load_ok("templates = ( { name = \"client\"; key_usage = [\n"
	                       "  \"DigitalSignature\", \"KeyAgreement\" ]; } );\n"));
}

/* A subject whose literal text is over an X.520 bound is refused at load. */
static void
test_subject_bound_at_load(void **state)
{
	char text[512], p[130];

	(void)state;
	memset(p, 'p', 129);
	p[129] = '\0';
	snprintf(text, sizeof(text),
	    "targets = ( { name = \"t\"; access_group = \"default\";\n"
	    "  subject = \"CN=%%unix_account%%/pseudonym=%s\"; } );\n",
	    p);
	expect_problems(text, 1, "t.conf:2: target 't': subject pattern",
	    "value for 'pseudonym' is longer than 128 characters (ub-pseudonym)", NULL);
}

/* The OTP throttle (issue 13): defaults, the new keys, and the old names
 * max_fail and lock_seconds, which keep loading as throttle_after and
 * throttle_max (setting both names is an error). */
static void
test_otp_throttle(void **state)
{
	struct ct_config *c = load_ok("");

	(void)state;
	assert_int_equal(c->otp.throttle_after, 5);
	assert_int_equal(c->otp.throttle_base, 2);
	assert_int_equal(c->otp.throttle_max, 3600);
	assert_int_equal(c->otp.refusal_ms, 50);
	ct_config_free(c);
	c = load_ok("otp: { max_fail = 7; lock_seconds = 60; };\n");
	assert_int_equal(c->otp.throttle_after, 7);
	assert_int_equal(c->otp.throttle_max, 60);
	ct_config_free(c);
	c = load_ok("otp: { throttle_after = 4; throttle_base = 10; throttle_max = 3600;\n"
	            "       refusal_ms = 0; };\n");
	assert_int_equal(c->otp.throttle_after, 4);
	assert_int_equal(c->otp.throttle_base, 10);
	assert_int_equal(c->otp.throttle_max, 3600);
	assert_int_equal(c->otp.refusal_ms, 0);
	ct_config_free(c);
	expect_problems("otp: { max_fail = 3; throttle_after = 4; };\n", 1,
	    "old name of 'throttle_after'", NULL);
	expect_problems("otp: { throttle_base = 0; refusal_ms = 5001; };\n", 2, "throttle_base",
	    "refusal_ms", NULL);
}

/* ca_connectors' poll_interval: how often one pending request's fetch may
 * ask its CA; for the types that ask again only. */
static void
test_poll_interval(void **state)
{
	struct ct_config *c =
	    load_ok("ca_connectors = ( { name = \"local\"; type = \"local\"; },\n"
	            "  { name = \"a\"; type = \"command\"; command = [\"/bin/a\"]; },\n"
	            "  { name = \"b\"; type = \"command\"; command = [\"/bin/b\"];\n"
	            "    poll_interval = 2; } );\n");

	(void)state;
	assert_int_equal(c->connectors[1].poll_interval, 60);
	assert_int_equal(c->connectors[2].poll_interval, 2);
	ct_config_free(c);
	c = load_ok("ca_connectors = ( { name = \"local\"; type = \"local\"; },\n"
	            "  { name = \"c\"; type = \"command\";\n"
	            "  command = [\"/bin/c\"]; poll_interval = 86400; } );\n");
	assert_int_equal(c->connectors[1].poll_interval, 86400);
	ct_config_free(c);
	expect_problems("ca_connectors = ( { name = \"local\"; type = \"command\";\n"
	                "  command = [\"/bin/c\"]; poll_interval = 0; } );\n",
	    1, "'poll_interval' must be between 1 and 86400", NULL);
	expect_problems("ca_connectors = ( { name = \"local\"; type = \"command\";\n"
	                "  command = [\"/bin/c\"]; poll_interval = 86401; } );\n",
	    1, "'poll_interval' must be between 1 and 86400", NULL);
	expect_problems("ca_connectors = ( { name = \"local\"; type = \"command\";\n"
	                "  command = [\"/bin/c\"]; poll_interval = \"60\"; } );\n",
	    1, "'poll_interval'", NULL);
	expect_problems(
	    "ca_connectors = ( { name = \"local\"; type = \"queue\"; poll_interval = 5; } );\n", 1,
	    "'poll_interval' is for types whose CA is asked again", NULL);
	expect_problems(
	    "ca_connectors = ( { name = \"local\"; type = \"local\"; poll_interval = 5; } );\n", 1,
	    "'poll_interval' is for types whose CA is asked again", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_embedded_default),
	    cmocka_unit_test(test_full_config),
	    cmocka_unit_test(test_connectors_and_events),
	    cmocka_unit_test(test_unknown_keys),
	    cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_references_and_names),
	    cmocka_unit_test(test_patterns_and_attributes),
	    cmocka_unit_test(test_many_problems_at_once),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_file_checks),
	    cmocka_unit_test(test_key_encipherment_needs_rsa),
	    cmocka_unit_test(test_subject_bound_at_load),
	    cmocka_unit_test(test_otp_throttle),
	    cmocka_unit_test(test_poll_interval),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

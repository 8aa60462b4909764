/* The metasrv store's config keys (backend, store_addrs, store_key_prefix, [backend_*]): values and errors. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "meta/store_config.h"

static int parse(const char *text, kw__meta_store_config *c, char *err, size_t cap)
{
    return kw__meta_store_config_parse(text, strlen(text), "meta.toml", c, err, cap);
}

START_TEST(defaults_are_the_file_store)
{
    kw__meta_store_config c;
    char err[256];
    ck_assert_int_eq(parse("[wal]\nprovider = \"kafka\"\n", &c, err, sizeof(err)), 0);
    ck_assert_int_eq(c.backend, KW_META_BACKEND_FILE);
    ck_assert_uint_eq(c.store_addr_count, 0);
    ck_assert_uint_eq(c.timeout_ms, 3000);
    ck_assert_uint_eq(c.lease_ttl_s, 5);
    kw__meta_store_config_free(&c);
}
END_TEST

START_TEST(greptimedb_metasrv_keys_are_read)
{
    const char *t = "data_home = \"./greptimedb_data\"\n"
                    "store_addrs = [\"127.0.0.1:2379\", \"10.0.0.2:2379\"]\n"
                    "store_key_prefix = \"cluster-a/\"\n"
                    "backend = \"etcd_store\"\n"
                    "[backend_tls]\nmode = \"require\"\nca_cert_path = \"/ca.pem\"\n"
                    "cert_path = \"/c.pem\"\nkey_path = \"/k.pem\"\n"
                    "[backend_client]\nconnect_timeout = \"2s\"\n"
                    "[backend_auth]\nusername = \"alice\"\npassword = \"pw\"\n"
                    "[meta_election]\nlease_ttl = \"7s\"\nnode_id = \"meta-1\"\n"
                    "[wal]\nprovider = \"kafka\"\n";
    kw__meta_store_config c;
    char err[256];
    ck_assert_msg(parse(t, &c, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(c.backend, KW_META_BACKEND_ETCD);
    ck_assert_uint_eq(c.store_addr_count, 2);
    ck_assert_str_eq(c.store_addrs[1], "10.0.0.2:2379");
    ck_assert_str_eq(c.key_prefix, "cluster-a/");
    ck_assert_int_eq(c.tls, 1);
    ck_assert_str_eq(c.ca_file, "/ca.pem");
    ck_assert_str_eq(c.key_file, "/k.pem");
    ck_assert_uint_eq(c.timeout_ms, 2000);
    ck_assert_str_eq(c.username, "alice");
    ck_assert_str_eq(c.password, "pw");
    ck_assert_uint_eq(c.lease_ttl_s, 7);
    ck_assert_str_eq(c.node_id, "meta-1");
    kw__meta_store_config_free(&c);
}
END_TEST

/* Each bad input: KW_ECONFIG and a message naming the file, the line and the key. */
static const struct {
    const char *text;
    const char *want;
} bad[] = {
    {"backend = \"postgres_store\"\n", "meta.toml:1: backend: \"postgres_store\" is not supported"},
    {"backend = \"mysql_store\"\n", "backend: \"mysql_store\" is not supported"},
    {"backend = \"memory_store\"\n", "backend: \"memory_store\" is not supported"},
    {"backend = \"zookeeper\"\n", "backend: unknown store \"zookeeper\""},
    {"backend = 3\n", "backend: expected a string"},
    {"backend = \"etcd_store\"\n", "backend = \"etcd_store\" needs store_addrs"},
    {"store_addrs = \"127.0.0.1:2379\"\n", "store_addrs: expected an array"},
    {"store_addrs = []\n", "store_addrs: empty"},
    {"store_addrs = [\"nohost\"]\n", "store_addrs: \"nohost\": expected host:port"},
    {"store_addrs = [1]\n", "store_addrs: item 1"},
    {"store_key_prefix = 1\n", "store_key_prefix: expected a string"},
    {"backend_tls = 1\n", "backend_tls: expected a table"},
    {"[backend_tls]\nmode = \"sometimes\"\n", "meta.toml:2: backend_tls.mode: \"sometimes\""},
    {"[backend_tls]\ncert_path = \"/c\"\n", "cert_path and key_path go together"},
    {"[backend_client]\nconnect_timeout = \"soon\"\n", "backend_client.connect_timeout: expected a duration"},
    {"[backend_auth]\nusername = \"u\"\n", "username and password go together"},
    {"[meta_election]\nlease_ttl = \"1s\"\n", "meta_election.lease_ttl: at least 2s"},
    {"[meta_election]\nlease_ttl = \"2500ms\"\n", "meta_election.lease_ttl: 2500ms is out of range"},
    {"backend = \n", "meta.toml:1:"},
};

START_TEST(bad_keys_are_named)
{
    kw__meta_store_config c;
    char err[256];
    int rc = parse(bad[_i].text, &c, err, sizeof(err));
    ck_assert_int_eq(rc, KW_ECONFIG);
    ck_assert_msg(strstr(err, bad[_i].want), "case %d: got \"%s\", want \"%s\"", _i, err,
                  bad[_i].want);
    kw__meta_store_config_free(&c);
}
END_TEST

START_TEST(a_missing_file_is_named)
{
    kw__meta_store_config c;
    char err[256];
    ck_assert_int_eq(kw__meta_store_config_load("/nonexistent/meta.toml", &c, err, sizeof(err)),
                     KW_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/meta.toml"));
    kw__meta_store_config_free(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta_store_config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults_are_the_file_store);
    tcase_add_test(tc, greptimedb_metasrv_keys_are_read);
    tcase_add_loop_test(tc, bad_keys_are_named, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, a_missing_file_is_named);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* The etcd store's own behaviour against a real etcd: endpoint fail-over, key prefixes, leases, options, auth. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "meta/store.h"
#include "meta/store_etcd.h"

static char eps[8][128];
static size_t neps;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Opens a store on the given endpoints (NULL: the test etcd's) under prefix. */
static int open_on(const char *const *v, size_t n, const char *prefix, kw_meta_store **out,
                   char *err, size_t cap)
{
    const char *list[8];
    if (!v) {
        for (size_t i = 0; i < neps; i++)
            list[i] = eps[i];
        v = list;
        n = neps;
    }
    kw_meta_store_etcd_options o = {.endpoints = v,
                                    .endpoint_count = n,
                                    .key_prefix = prefix,
                                    .timeout_ms = 2000,
                                    .username = getenv("KWAL_ETCD_USER"),
                                    .password = getenv("KWAL_ETCD_PASSWORD"),
                                    .ca_file = getenv("KWAL_ETCD_CA"),
                                    .cert_file = getenv("KWAL_ETCD_CERT"),
                                    .key_file = getenv("KWAL_ETCD_KEY")};
    return kw__meta_store_etcd_open(&o, out, err, cap);
}

static kw_meta_store *must_open(const char *prefix)
{
    kw_meta_store *s = NULL;
    char err[512];
    int rc = open_on(NULL, 0, prefix, &s, err, sizeof(err));
    ck_assert_msg(rc == 0, "open: %s: %s", kw_err_name(rc), err);
    return s;
}

static void prefix_for(char *buf, size_t len, const char *what)
{
    snprintf(buf, len, "kwal-test/%d/%s/%ld/", getpid(), what, (long)time(NULL));
}

static int count_cb(void *arg, const kw_meta_kv *kv)
{
    (void)kv;
    ++*(int *)arg;
    return 0;
}

START_TEST(a_dead_endpoint_is_skipped_and_all_dead_names_them)
{
    const char *v[3] = {"127.0.0.1:1", eps[0], NULL};
    kw_meta_store *s = NULL;
    char err[512], prefix[128];
    prefix_for(prefix, sizeof(prefix), "failover");
    int rc = open_on(v, 2, prefix, &s, err, sizeof(err));
    ck_assert_msg(rc == 0, "open: %s", err);
    ck_assert_int_eq(kw__meta_store_put(s, "k", 1, "v", 1, NULL), 0);
    kw__meta_store_close(s);

    const char *dead[2] = {"127.0.0.1:1", "http://127.0.0.1:2"};
    rc = open_on(dead, 2, prefix, &s, err, sizeof(err));
    ck_assert_int_eq(rc, KW_ECONNECT);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "127.0.0.1:2") && strstr(err, "no endpoint answered"), "%s", err);
}
END_TEST

START_TEST(bad_options_are_refused_naming_them)
{
    kw_meta_store *s = NULL;
    char err[512];
    kw_meta_store_etcd_options none = {0};
    ck_assert_int_eq(kw__meta_store_etcd_open(&none, &s, err, sizeof(err)), KW_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "store_addrs"));
    const char *ftp[1] = {"ftp://127.0.0.1:2379"};
    ck_assert_int_eq(open_on(ftp, 1, NULL, &s, err, sizeof(err)), KW_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "ftp://127.0.0.1:2379"));
    const char *empty[1] = {""};
    ck_assert_int_eq(open_on(empty, 1, NULL, &s, err, sizeof(err)), KW_ECONFIG);
    kw_meta_store_etcd_options half = {.endpoints = ftp, .endpoint_count = 1, .cert_file = "c"};
    ck_assert_int_eq(kw__meta_store_etcd_open(&half, &s, err, sizeof(err)), KW_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "certificate"));
    kw_meta_store_etcd_options nopw = {.endpoints = ftp, .endpoint_count = 1, .username = "u"};
    ck_assert_int_eq(kw__meta_store_etcd_open(&nopw, &s, err, sizeof(err)), KW_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err, "password"));
    ck_assert_ptr_null(s);
}
END_TEST

/* Two prefixes on one etcd are two stores: neither sees the other's keys. */
START_TEST(key_prefixes_keep_deployments_apart)
{
    char pa[128], pb[128];
    prefix_for(pa, sizeof(pa), "a");
    prefix_for(pb, sizeof(pb), "b");
    kw_meta_store *a = must_open(pa), *b = must_open(pb);
    ck_assert_int_eq(kw__meta_store_put(a, "topic/x", 7, "A", 1, NULL), 0);
    ck_assert_int_eq(kw__meta_store_put(b, "topic/y", 7, "B", 1, NULL), 0);
    ck_assert_int_eq(kw__meta_store_get(a, "topic/y", 7, NULL, NULL, NULL), KW_ENOTFOUND);
    int na = 0, nb = 0;
    ck_assert_int_eq(kw__meta_store_range(a, NULL, 0, NULL, 0, 0, count_cb, &na), 0);
    ck_assert_int_eq(kw__meta_store_range(b, NULL, 0, NULL, 0, 0, count_cb, &nb), 0);
    ck_assert_int_eq(na, 1);
    ck_assert_int_eq(nb, 1);
    kw__meta_store_close(a);
    kw__meta_store_close(b);
}
END_TEST

/* More keys than one range page: every one, in order, once. */
START_TEST(a_range_longer_than_a_page_is_whole_and_ordered)
{
    char p[128];
    prefix_for(p, sizeof(p), "pages");
    kw_meta_store *s = must_open(p);
    for (int i = 0; i < 2500; i++) {
        char k[32];
        int n = snprintf(k, sizeof(k), "region/%06d", i);
        ck_assert_int_eq(kw__meta_store_put(s, k, (size_t)n, "", 0, NULL), 0);
    }
    int n = 0;
    ck_assert_int_eq(kw__meta_store_range_prefix(s, "region/", 7, 0, count_cb, &n), 0);
    ck_assert_int_eq(n, 2500);
    n = 0;
    ck_assert_int_eq(kw__meta_store_range_prefix(s, "region/", 7, 1500, count_cb, &n), 0);
    ck_assert_int_eq(n, 1500);
    kw__meta_store_close(s);
}
END_TEST

/* A campaign key on a lease: one holder; it goes when the lease is revoked or lapses. */
START_TEST(a_lease_holds_a_key_until_revoked_or_lapsed)
{
    char p[128];
    prefix_for(p, sizeof(p), "lease");
    kw_meta_store *s = must_open(p);
    int64_t l1 = 0, l2 = 0, ttl = 0;
    ck_assert_int_eq(kw__meta_etcd_lease_grant(s, 2, &l1), 0);
    ck_assert_int_eq(kw__meta_etcd_lease_grant(s, 2, &l2), 0);
    ck_assert_int_ne(l1, l2);
    uint64_t rev = 0;
    ck_assert_int_eq(kw__meta_etcd_cas_lease(s, "leader", 6, KW_META_REV_ABSENT, "n1", 2, l1,
                                             &rev),
                     0);
    ck_assert_int_eq(kw__meta_etcd_cas_lease(s, "leader", 6, KW_META_REV_ABSENT, "n2", 2, l2,
                                             NULL),
                     KW_EAGAIN);
    ck_assert_int_eq(kw__meta_etcd_lease_keepalive(s, l1, &ttl), 0);
    ck_assert_int_ge(ttl, 1);
    ck_assert_int_eq(kw__meta_etcd_lease_revoke(s, l1), 0);
    ck_assert_int_eq(kw__meta_store_get(s, "leader", 6, NULL, NULL, NULL), KW_ENOTFOUND);
    ck_assert_int_eq(kw__meta_etcd_lease_keepalive(s, l1, NULL), KW_ENOTFOUND);
    ck_assert_int_eq(kw__meta_etcd_cas_lease(s, "leader", 6, KW_META_REV_ABSENT, "n2", 2, l2,
                                             NULL),
                     0);
    /* l2 is not kept alive: within its TTL (+ etcd's granularity) the key is gone. */
    bool gone = false;
    for (int i = 0; i < 80 && !gone; i++) {
        sleep_ms(100);
        gone = kw__meta_store_get(s, "leader", 6, NULL, NULL, NULL) == KW_ENOTFOUND;
    }
    ck_assert_msg(gone, "the key outlived its lease");
    ck_assert_int_eq(kw__meta_etcd_lease_revoke(s, l2), KW_ENOTFOUND);
    kw__meta_store_close(s);
}
END_TEST

/* Three members: one killed, the store goes on through the others. */
START_TEST(a_killed_member_is_routed_around)
{
    const char *script = getenv("KWAL_ETCD_SCRIPT");
    if (neps < 3 || !script) {
        fprintf(stderr, "etcd: fewer than 3 members (or no KWAL_ETCD_SCRIPT): case skipped\n");
        return;
    }
    char p[128], cmd[600];
    prefix_for(p, sizeof(p), "kill");
    kw_meta_store *s = must_open(p);
    ck_assert_int_eq(kw__meta_store_put(s, "k", 1, "1", 1, NULL), 0);
    snprintf(cmd, sizeof(cmd), "'%s' stop-member 1 >&2", script);
    ck_assert_int_eq(system(cmd), 0);
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        char v[8];
        int n = snprintf(v, sizeof(v), "%d", i);
        if (kw__meta_store_put(s, "k", 1, v, (size_t)n, NULL) == 0)
            ok++;
    }
    uint8_t *got = NULL;
    size_t len = 0;
    int rc = kw__meta_store_get(s, "k", 1, &got, &len, NULL);
    snprintf(cmd, sizeof(cmd), "setsid '%s' start-member 1 >&2", script);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_ge(ok, 19); /* at most the write in flight at the kill is in doubt */
    ck_assert_int_eq(len, 2);
    ck_assert_int_eq(memcmp(got, "19", 2), 0);
    free(got);
    kw__meta_store_close(s);
}
END_TEST

/* Compare-and-put increments from two processes: none lost (500 each give 1000). */
static void count_up(const char *prefix, int n)
{
    kw_meta_store *s = NULL;
    char err[512];
    if (open_on(NULL, 0, prefix, &s, err, sizeof(err)) != 0)
        _exit(2);
    for (int done = 0; done < n;) {
        uint8_t *v = NULL;
        size_t len = 0;
        uint64_t rev = 0;
        if (kw__meta_store_get(s, "counter", 7, &v, &len, &rev) != 0)
            _exit(3);
        char buf[32];
        snprintf(buf, sizeof(buf), "%.*s", (int)len, (const char *)v);
        free(v);
        int nl = snprintf(buf, sizeof(buf), "%ld", strtol(buf, NULL, 10) + 1);
        int rc = kw__meta_store_cas(s, "counter", 7, rev, buf, (size_t)nl, NULL);
        if (rc == 0)
            done++;
        else if (rc != KW_EAGAIN)
            _exit(4);
    }
    kw__meta_store_close(s);
    _exit(0);
}

START_TEST(compare_and_put_from_two_processes_loses_no_increment)
{
    char p[128];
    prefix_for(p, sizeof(p), "cas2");
    kw_meta_store *s = must_open(p);
    ck_assert_int_eq(kw__meta_store_put(s, "counter", 7, "0", 1, NULL), 0);
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        ck_assert_int_ge(pid[i], 0);
        if (pid[i] == 0)
            count_up(p, 500);
    }
    for (int i = 0; i < 2; i++) {
        int st;
        ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: %d", i, st);
    }
    uint8_t *v = NULL;
    size_t len = 0;
    ck_assert_int_eq(kw__meta_store_get(s, "counter", 7, &v, &len, NULL), 0);
    ck_assert_int_eq(len, 4);
    ck_assert_int_eq(memcmp(v, "1000", 4), 0);
    free(v);
    kw__meta_store_close(s);
}
END_TEST

/* Three members, two killed: no quorum, calls fail within their deadline naming etcd; back, they work. */
START_TEST(without_a_quorum_calls_fail_in_time_and_recover)
{
    const char *script = getenv("KWAL_ETCD_SCRIPT");
    if (neps < 3 || !script) {
        fprintf(stderr, "etcd: fewer than 3 members (or no KWAL_ETCD_SCRIPT): case skipped\n");
        return;
    }
    char p[128], cmd[600];
    prefix_for(p, sizeof(p), "quorum");
    kw_meta_store *s = must_open(p); /* 2 s per request */
    ck_assert_int_eq(kw__meta_store_put(s, "k", 1, "1", 1, NULL), 0);
    snprintf(cmd, sizeof(cmd), "'%s' stop-member 1 >&2 && '%s' stop-member 2 >&2", script, script);
    ck_assert_int_eq(system(cmd), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = kw__meta_store_put(s, "k", 1, "2", 1, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char err[512];
    kw__meta_store_errstr(s, err, sizeof(err));
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    snprintf(cmd, sizeof(cmd), "setsid '%s' start-member 1 >&2 && setsid '%s' start-member 2 >&2",
             script, script);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "etcd"), "%s", err);
    ck_assert_msg(took < 3 * 2.0 + 1.0, "the failed put took %.1f s", took); /* 3 endpoints x 2 s */
    fprintf(stderr, "etcd: without quorum a put failed after %.1f s: %s\n", took, err);
    /* The quorum is back: writes work again (after the new leader is elected). */
    int ok = -1;
    for (int i = 0; i < 50 && ok != 0; i++) {
        ok = kw__meta_store_put(s, "k", 1, "3", 1, NULL);
        if (ok)
            sleep_ms(200);
    }
    ck_assert_int_eq(ok, 0);
    kw__meta_store_close(s);
}
END_TEST

START_TEST(wrong_credentials_are_a_config_error_naming_the_user)
{
    if (!getenv("KWAL_ETCD_USER")) {
        fprintf(stderr, "etcd: auth is off (tests/etcd/etcd up --auth): case skipped\n");
        return;
    }
    const char *v[1] = {eps[0]};
    kw_meta_store_etcd_options o = {.endpoints = v, .endpoint_count = 1,
                                    .username = getenv("KWAL_ETCD_USER"),
                                    .password = "not-the-password"};
    kw_meta_store *s = NULL;
    char err[512];
    int rc = kw__meta_store_etcd_open(&o, &s, err, sizeof(err));
    ck_assert_int_eq(rc, KW_ECONFIG);
    ck_assert_msg(strstr(err, getenv("KWAL_ETCD_USER")), "%s", err);
    /* And no user at all on an etcd that wants one. */
    o.username = o.password = NULL;
    rc = kw__meta_store_etcd_open(&o, &s, err, sizeof(err));
    ck_assert_int_ne(rc, 0);
    ck_assert_ptr_null(s);
}
END_TEST

/* TLS with client certificates: no certificate, or a CA that did not sign etcd's, is refused. */
START_TEST(tls_without_the_right_material_is_refused)
{
    if (!getenv("KWAL_ETCD_CA")) {
        fprintf(stderr, "etcd: TLS is off (tests/etcd/etcd up --tls): case skipped\n");
        return;
    }
    const char *v[1] = {eps[0]};
    kw_meta_store *s = NULL;
    char err[512];
    kw_meta_store_etcd_options nocert = {.endpoints = v, .endpoint_count = 1,
                                         .ca_file = getenv("KWAL_ETCD_CA"), .timeout_ms = 2000};
    int rc = kw__meta_store_etcd_open(&nocert, &s, err, sizeof(err));
    ck_assert_int_ne(rc, 0);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, eps[0]), "%s", err);
    char other[600];
    snprintf(other, sizeof(other), "%s", getenv("KWAL_ETCD_CA"));
    char *slash = strrchr(other, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash + 1, sizeof(other) - (size_t)(slash + 1 - other), "other-ca.pem");
    kw_meta_store_etcd_options wrongca = {.endpoints = v, .endpoint_count = 1, .ca_file = other,
                                          .cert_file = getenv("KWAL_ETCD_CERT"),
                                          .key_file = getenv("KWAL_ETCD_KEY"), .timeout_ms = 2000};
    rc = kw__meta_store_etcd_open(&wrongca, &s, err, sizeof(err));
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "SSL") || strstr(err, "certificate"), "%s", err);
}
END_TEST

int main(void)
{
    const char *list = getenv("KWAL_ETCD_ENDPOINTS");
    if (!list || !*list) {
        fprintf(stderr, "KWAL_ETCD_ENDPOINTS is not set (tests/etcd/etcd up; eval "
                        "\"$(tests/etcd/etcd env)\"): skipped\n");
        return 77;
    }
    for (const char *p = list; *p && neps < 8;) {
        size_t l = strcspn(p, ",");
        snprintf(eps[neps++], sizeof(eps[0]), "%.*s", (int)l, p);
        p += l + (p[l] == ',');
    }
    Suite *s = suite_create("meta_etcd");
    TCase *tc = tcase_create("etcd");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_dead_endpoint_is_skipped_and_all_dead_names_them);
    tcase_add_test(tc, bad_options_are_refused_naming_them);
    tcase_add_test(tc, key_prefixes_keep_deployments_apart);
    tcase_add_test(tc, a_range_longer_than_a_page_is_whole_and_ordered);
    tcase_add_test(tc, a_lease_holds_a_key_until_revoked_or_lapsed);
    tcase_add_test(tc, a_killed_member_is_routed_around);
    tcase_add_test(tc, compare_and_put_from_two_processes_loses_no_increment);
    tcase_add_test(tc, without_a_quorum_calls_fail_in_time_and_recover);
    tcase_add_test(tc, wrong_credentials_are_a_config_error_naming_the_user);
    tcase_add_test(tc, tls_without_the_right_material_is_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The metasrv key-value store's front: the argument and limit checks every backend shares. */
#include "meta/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void kw__meta_store_init(kw_meta_store *s, const kw_meta_store_ops *ops)
{
    s->ops = ops;
    pthread_mutex_init(&s->err_mu, NULL);
    s->errstr[0] = '\0';
}

void kw__meta_store_fini(kw_meta_store *s)
{
    pthread_mutex_destroy(&s->err_mu);
}

int kw__meta_store_fail(kw_meta_store *s, int err, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&s->err_mu);
    va_start(ap, fmt);
    vsnprintf(s->errstr, sizeof(s->errstr), fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&s->err_mu);
    return err;
}

void kw__meta_store_errstr(kw_meta_store *s, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    if (!s) {
        buf[0] = '\0';
        return;
    }
    pthread_mutex_lock(&s->err_mu);
    snprintf(buf, cap, "%s", s->errstr);
    pthread_mutex_unlock(&s->err_mu);
}

static int check_key(kw_meta_store *s, const void *key, size_t key_len)
{
    if (key_len == 0 || !key)
        return kw__meta_store_fail(s, KW_EINVAL, "empty key");
    if (key_len > KW_META_STORE_MAX_KEY)
        return kw__meta_store_fail(s, KW_ETOOBIG, "key of %zu bytes (the limit is %u)", key_len,
                                   KW_META_STORE_MAX_KEY);
    return 0;
}

static int check_value(kw_meta_store *s, const void *value, size_t value_len)
{
    if (value_len > 0 && !value)
        return kw__meta_store_fail(s, KW_EINVAL, "NULL value with length %zu", value_len);
    if (value_len > KW_META_STORE_MAX_VALUE)
        return kw__meta_store_fail(s, KW_ETOOBIG, "value of %zu bytes (the limit is %u)", value_len,
                                   KW_META_STORE_MAX_VALUE);
    return 0;
}

int kw__meta_store_get(kw_meta_store *s, const void *key, size_t key_len, uint8_t **value,
                       size_t *value_len, uint64_t *rev)
{
    if (!s)
        return KW_EINVAL;
    int rc = check_key(s, key, key_len);
    if (rc)
        return rc;
    if (value && !value_len)
        return kw__meta_store_fail(s, KW_EINVAL, "get: value without value_len");
    return s->ops->get(s, key, key_len, value, value_len, rev);
}

int kw__meta_store_put(kw_meta_store *s, const void *key, size_t key_len, const void *value,
                       size_t value_len, uint64_t *rev)
{
    if (!s)
        return KW_EINVAL;
    int rc = check_key(s, key, key_len);
    if (!rc)
        rc = check_value(s, value, value_len);
    if (rc)
        return rc;
    return s->ops->put(s, key, key_len, value, value_len, rev);
}

int kw__meta_store_cas(kw_meta_store *s, const void *key, size_t key_len, uint64_t expected_rev,
                       const void *value, size_t value_len, uint64_t *rev)
{
    if (!s)
        return KW_EINVAL;
    int rc = check_key(s, key, key_len);
    if (!rc)
        rc = check_value(s, value, value_len);
    if (rc)
        return rc;
    return s->ops->cas(s, key, key_len, expected_rev, value, value_len, rev);
}

int kw__meta_store_range(kw_meta_store *s, const void *start, size_t start_len, const void *end,
                         size_t end_len, size_t limit, kw_meta_store_range_cb *cb, void *arg)
{
    if (!s)
        return KW_EINVAL;
    if (!cb)
        return kw__meta_store_fail(s, KW_EINVAL, "range: no callback");
    if ((start_len && !start) || (end_len && !end))
        return kw__meta_store_fail(s, KW_EINVAL, "range: NULL bound with a length");
    if (start_len > KW_META_STORE_MAX_KEY || end_len > KW_META_STORE_MAX_KEY)
        return kw__meta_store_fail(s, KW_ETOOBIG, "range: a bound longer than %u bytes",
                                   KW_META_STORE_MAX_KEY);
    return s->ops->range(s, start_len ? start : NULL, start_len, end_len ? end : NULL, end_len,
                         limit, cb, arg);
}

int kw__meta_store_range_prefix(kw_meta_store *s, const void *prefix, size_t prefix_len,
                                size_t limit, kw_meta_store_range_cb *cb, void *arg)
{
    if (!s)
        return KW_EINVAL;
    if (prefix_len && !prefix)
        return kw__meta_store_fail(s, KW_EINVAL, "range: NULL prefix with a length");
    if (prefix_len > KW_META_STORE_MAX_KEY)
        return kw__meta_store_fail(s, KW_ETOOBIG, "range: a prefix longer than %u bytes",
                                   KW_META_STORE_MAX_KEY);
    /* The first key after every key with this prefix: drop trailing 0xff bytes and add one
     * to the last byte left.  A prefix of only 0xff bytes has no such key: run to the end. */
    uint8_t end[KW_META_STORE_MAX_KEY];
    size_t end_len = prefix_len;
    if (prefix_len)
        memcpy(end, prefix, prefix_len);
    while (end_len > 0 && end[end_len - 1] == 0xff)
        end_len--;
    if (end_len > 0)
        end[end_len - 1]++;
    return kw__meta_store_range(s, prefix, prefix_len, end_len ? end : NULL, end_len, limit, cb,
                                arg);
}

int kw__meta_store_del(kw_meta_store *s, const void *key, size_t key_len, uint64_t *rev)
{
    if (!s)
        return KW_EINVAL;
    int rc = check_key(s, key, key_len);
    if (rc)
        return rc;
    return s->ops->del(s, key, key_len, rev);
}

void kw__meta_store_close(kw_meta_store *s)
{
    if (s)
        s->ops->close(s);
}

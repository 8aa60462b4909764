/* libFuzzer target for the TOML reader and the [wal] config mapped from it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kwal/error.h"
#include "wal/config.h"
#include "wal/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every node is what its type says, strings are terminated where their length says. */
static void walk(const kw__toml_value *v, int depth)
{
    if (depth > 200)
        abort();
    switch (v->type) {
    case KW_TOML_STRING:
        if (v->u.str.ptr[v->u.str.len] != 0 || strlen(v->u.str.ptr) != v->u.str.len)
            abort();
        break;
    case KW_TOML_ARRAY:
        for (size_t i = 0; i < v->u.array.count; i++)
            walk(v->u.array.items[i], depth + 1);
        break;
    case KW_TOML_TABLE:
        for (size_t i = 0; i < v->u.table.count; i++) {
            const kw__toml_entry *e = &v->u.table.entries[i];
            if (strlen(e->key) != e->key_len || kw__toml_find(v, e->key) != e)
                abort();
            walk(e->value, depth + 1);
        }
        break;
    case KW_TOML_INTEGER:
    case KW_TOML_FLOAT:
    case KW_TOML_BOOL:
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[256];
    kw__toml_value *doc = NULL;
    int line = 0;
    int rc = kw__toml_parse(text, size, NULL, &doc, err, sizeof(err), &line);
    if (rc == 0) {
        walk(doc, 0);
        kw__toml_free(doc);
    } else if (doc || line <= 0 || !err[0]) {
        abort(); /* an error always says where */
    }
    /* Tight limits reach the limit paths with small inputs. */
    kw__toml_limits lim = {.max_input = 512, .max_depth = 4, .max_values = 40, .max_table_keys = 8};
    if (kw__toml_parse(text, size, &lim, &doc, err, sizeof(err), NULL) == 0)
        kw__toml_free(doc);

    kw__wal_config cfg;
    rc = kw__wal_config_parse(text, size, "fuzz.toml", &cfg, err, sizeof(err));
    if (rc == 0) {
        if (!cfg.wal.kafka.bootstrap || !cfg.topic_name_prefix || cfg.num_topics == 0 ||
            cfg.wal.max_batch_bytes == 0)
            abort();
    } else if (rc != KW_ECONFIG && rc != KW_ENOMEM) {
        abort();
    }
    kw__wal_config_free(&cfg);
    return 0;
}

/* Unit tests of the TOML reader and the [wal] config: GreptimeDB's examples, defaults, errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kwal/error.h"
#include "wal/config.h"
#include "wal/toml.h"

#define MIB ((uint64_t)1 << 20)

static kw__wal_config cfg;
static char err[512];

static void parse_ok(const char *text)
{
    int rc = kw__wal_config_parse(text, strlen(text), "wal.toml", &cfg, err, sizeof(err));
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
}

static void parse_err(const char *text, const char *want)
{
    int rc = kw__wal_config_parse(text, strlen(text), "wal.toml", &cfg, err, sizeof(err));
    ck_assert_int_eq(rc, KW_ECONFIG);
    ck_assert_str_eq(err, want);
    /* A failed parse leaves nothing to free, and freeing again is harmless. */
    ck_assert_ptr_null(cfg.topic_name_prefix);
    kw__wal_config_free(&cfg);
}

static void teardown(void)
{
    kw__wal_config_free(&cfg);
}

/* kwal's own [wal.sasl] / [wal.tls] keys: every security option the client has. ------------ */

START_TEST(credential_documents_and_tls_options_map_onto_the_client)
{
    parse_ok("[wal.sasl]\ntype = \"OAUTHBEARER\"\noauthbearer_http_socket = \"/run/cred.sock\"\n"
             "http_socket_timeout = \"2s\"\n"
             "[wal.tls]\nmin_version = \"TLSv1.3\"\ncipher_suites = \"TLS_AES_256_GCM_SHA384\"\n");
    ck_assert_str_eq(cfg.wal.kafka.oauth_http_socket, "/run/cred.sock");
    ck_assert_uint_eq(cfg.wal.kafka.sasl_http_timeout_ms, 2000);
    ck_assert_str_eq(cfg.wal.kafka.tls_min_version, "TLSv1.3");
    ck_assert_str_eq(cfg.wal.kafka.tls_cipher_suites, "TLS_AES_256_GCM_SHA384");
    ck_assert_int_eq(cfg.wal.kafka.security, KW_CLIENT_SASL_SSL);
    kw__wal_config_free(&cfg);
    parse_ok("[wal.sasl]\ntype = \"OAUTHBEARER\"\noauthbearer_file = \"/run/oauth.json\"\n");
    ck_assert_str_eq(cfg.wal.kafka.oauth_file, "/run/oauth.json");
    kw__wal_config_free(&cfg);
    parse_ok("[wal.sasl]\ntype = \"AWS_MSK_IAM\"\naws_file = \"/run/aws.json\"\n");
    ck_assert_str_eq(cfg.wal.kafka.sasl_mechanism, "AWS_MSK_IAM");
    ck_assert_str_eq(cfg.wal.kafka.aws_file, "/run/aws.json");
    kw__wal_config_free(&cfg);
    parse_ok("[wal.sasl]\ntype = \"AWS_MSK_IAM\"\naws_http_socket = \"/run/aws.sock\"\n");
    ck_assert_str_eq(cfg.wal.kafka.aws_http_socket, "/run/aws.sock");
    kw__wal_config_free(&cfg);
    parse_err("[wal.sasl]\ntype = \"OAUTHBEARER\"\noauthbearer_file = \"/a\"\n"
              "oauthbearer_http_socket = \"/b\"\n",
              "wal.toml:1: [wal.sasl]: oauthbearer_file and oauthbearer_http_socket are both "
              "set: give one credential source");
    parse_err("[wal.sasl]\ntype = \"OAUTHBEARER\"\naws_file = \"/a\"\n",
              "wal.toml:1: [wal.sasl]: aws_file goes with type AWS_MSK_IAM only");
    parse_err("[wal.sasl]\ntype = \"OAUTHBEARER\"\ntoken = \"t\"\nhttp_socket_timeout = \"1s\"\n",
              "wal.toml:1: [wal.sasl]: http_socket_timeout needs oauthbearer_http_socket or "
              "aws_http_socket");
    parse_err("[wal.sasl]\ntype = \"OAUTHBEARER\"\noauthbearer_file = \"\"\n",
              "wal.toml:3: sasl.oauthbearer_file: the path is empty");
    parse_err("[wal.tls]\nmin_version = \"TLSv1.1\"\n",
              "wal.toml:2: tls.min_version: 'TLSv1.1' is not \"TLSv1.2\" or \"TLSv1.3\"");
    parse_err("[wal.tls]\ncipher_suites = \"\"\n", "wal.toml:2: tls.cipher_suites: the path is empty");
}
END_TEST

START_TEST(oauthbearer_token_and_token_file_map_onto_the_client)
{
    parse_ok("[wal]\nprovider = \"kafka\"\n"
             "[wal.sasl]\ntype = \"OAUTHBEARER\"\ntoken = \"eyJ.abc\"\n");
    ck_assert_str_eq(cfg.wal.kafka.sasl_mechanism, "OAUTHBEARER");
    ck_assert_str_eq(cfg.wal.kafka.oauth_token, "eyJ.abc");
    ck_assert_ptr_null(cfg.wal.kafka.oauth_token_file);
    ck_assert_int_eq(cfg.wal.kafka.security, KW_CLIENT_SASL_PLAINTEXT);
    kw__wal_config_free(&cfg);
    parse_ok("[wal.sasl]\ntype = \"OAUTHBEARER\"\ntoken_file = \"/run/token\"\n[wal.tls]\n");
    ck_assert_str_eq(cfg.wal.kafka.oauth_token_file, "/run/token");
    ck_assert_ptr_null(cfg.wal.kafka.oauth_token);
    ck_assert_int_eq(cfg.wal.kafka.security, KW_CLIENT_SASL_SSL);
}
END_TEST

START_TEST(aws_msk_iam_keys_map_onto_the_client)
{
    parse_ok("[wal.sasl]\ntype = \"AWS_MSK_IAM\"\naws_access_key_id = \"AKIDEXAMPLE\"\n"
             "aws_secret_access_key = \"wJalr/K7+x\"\naws_session_token = \"FQoG/tok==\"\n"
             "aws_region = \"eu-west-1\"\naws_user_agent = \"greptimedb/1\"\n[wal.tls]\n");
    ck_assert_str_eq(cfg.wal.kafka.sasl_mechanism, "AWS_MSK_IAM");
    ck_assert_str_eq(cfg.wal.kafka.aws_access_key_id, "AKIDEXAMPLE");
    ck_assert_str_eq(cfg.wal.kafka.aws_secret_access_key, "wJalr/K7+x");
    ck_assert_str_eq(cfg.wal.kafka.aws_session_token, "FQoG/tok==");
    ck_assert_str_eq(cfg.wal.kafka.aws_region, "eu-west-1");
    ck_assert_str_eq(cfg.wal.kafka.aws_user_agent, "greptimedb/1");
    ck_assert_int_eq(cfg.wal.kafka.security, KW_CLIENT_SASL_SSL);
    kw__wal_config_free(&cfg);
    parse_err("[wal.sasl]\ntype = \"AWS_MSK_IAM\"\naws_access_key_id = \"AKID\"\n",
              "wal.toml:1: [wal.sasl]: type AWS_MSK_IAM needs aws_access_key_id and "
              "aws_secret_access_key together");
    parse_err("[wal.sasl]\ntype = \"AWS_MSK_IAM\"\naws_access_key_id = \"AKID\"\n"
              "aws_secret_access_key = \"s\"\nusername = \"u\"\n",
              "wal.toml:1: [wal.sasl]: type AWS_MSK_IAM takes a credential source, not a "
              "username or password");
    parse_err("[wal.sasl]\ntype = \"PLAIN\"\nusername = \"u\"\npassword = \"p\"\n"
              "aws_region = \"us-east-1\"\n",
              "wal.toml:1: [wal.sasl]: the aws_* keys go with type AWS_MSK_IAM only");
    parse_err("[wal.sasl]\ntype = \"AWS_MSK_IAM\"\naws_region = \"\"\n",
              "wal.toml:3: sasl.aws_region: the value is empty");
}
END_TEST

START_TEST(tls_server_name_checks_and_ca_dir_map_onto_the_client)
{
    parse_ok("[wal.tls]\n"
             "server_ca_cert_dir = \"/etc/ssl/certs\"\n"
             "server_name = \"kafka.internal\"\n"
             "no_hostname_check = true\n"
             "insecure_skip_verify = true\n");
    ck_assert_str_eq(cfg.wal.kafka.tls_ca_dir, "/etc/ssl/certs");
    ck_assert_str_eq(cfg.wal.kafka.tls_server_name, "kafka.internal");
    ck_assert(cfg.wal.kafka.tls_no_hostname_check);
    ck_assert(cfg.wal.kafka.tls_insecure_skip_verify);
    ck_assert_int_eq(cfg.wal.kafka.security, KW_CLIENT_SSL);
    kw__wal_config_free(&cfg);
    /* absent: all off, and GreptimeDB's connect_timeout default lands in the client's field */
    parse_ok("[wal.tls]\nserver_ca_cert_path = \"/ca.pem\"\n");
    ck_assert_str_eq(cfg.wal.kafka.tls_ca_file, "/ca.pem");
    ck_assert_ptr_null(cfg.wal.kafka.tls_ca_dir);
    ck_assert_ptr_null(cfg.wal.kafka.tls_server_name);
    ck_assert(!cfg.wal.kafka.tls_no_hostname_check);
    ck_assert(!cfg.wal.kafka.tls_insecure_skip_verify);
    ck_assert_uint_eq(cfg.wal.kafka.connect_timeout_ms, 3000);
}
END_TEST

START_TEST(bad_security_keys_name_the_key)
{
    parse_err("[wal.sasl]\ntype = \"OAUTHBEARER\"\ntoken = \"\"\n",
              "wal.toml:3: sasl.token: the token is empty");
    parse_err("[wal.sasl]\ntype = \"OAUTHBEARER\"\ntoken_file = \"\"\n",
              "wal.toml:3: sasl.token_file: the path is empty");
    parse_err("[wal.sasl]\ntype = \"OAUTHBEARER\"\n",
              "wal.toml:1: [wal.sasl]: type OAUTHBEARER needs one of token, token_file, "
              "oauthbearer_file and oauthbearer_http_socket");
    parse_err("[wal.sasl]\ntype = \"OAUTHBEARER\"\ntoken = \"t\"\ntoken_file = \"/f\"\n",
              "wal.toml:1: [wal.sasl]: token and token_file are both set: give one credential "
              "source");
    parse_err("[wal.sasl]\ntype = \"OAUTHBEARER\"\ntoken = \"t\"\nusername = \"u\"\n",
              "wal.toml:1: [wal.sasl]: type OAUTHBEARER takes a credential source, not a "
              "username or password");
    parse_err("[wal.sasl]\ntype = \"PLAIN\"\nusername = \"u\"\npassword = \"p\"\ntoken = \"t\"\n",
              "wal.toml:1: [wal.sasl]: token goes with type OAUTHBEARER only");
    parse_err("[wal.sasl]\ntype = \"OAUTHBEARER\"\ntoken = 5\n",
              "wal.toml:3: sasl.token: expected a string, not an integer");
    parse_err("[wal.sasl]\ntokn = \"t\"\n",
              "wal.toml:2: unknown key 'tokn' in [wal.sasl] (did you mean token?)");
    parse_err("[wal.tls]\nserver_name = \"kafka:9093\"\n",
              "wal.toml:2: tls.server_name: 'kafka:9093' is not a host name (no port, spaces, "
              "'/' or ',')");
    parse_err("[wal.tls]\nserver_name = \"\"\n",
              "wal.toml:2: tls.server_name: '' is not a host name (no port, spaces, '/' or ',')");
    parse_err("[wal.tls]\nno_hostname_check = \"yes\"\n",
              "wal.toml:2: tls.no_hostname_check: expected true or false, not a string");
    parse_err("[wal.tls]\ninsecure_skip_verify = 1\n",
              "wal.toml:2: tls.insecure_skip_verify: expected true or false, not an integer");
    parse_err("[wal.tls]\nserver_ca_cert_dir = \"\"\n",
              "wal.toml:2: tls.server_ca_cert_dir: the path is empty");
    parse_err("[wal.tls]\nserver_ca_cert_dir = [\"/a\"]\n",
              "wal.toml:2: tls.server_ca_cert_dir: expected a string, not an array");
}
END_TEST

/* The examples of seed 000 (GreptimeDB's Remote WAL configuration page), verbatim. ------ */

START_TEST(seed_000_metasrv_example)
{
    parse_ok("[wal]\n"
             "provider = \"kafka\"\n"
             "broker_endpoints = [\"127.0.0.1:9092\"]\n"
             "\n"
             "# WAL data pruning options\n"
             "auto_prune_interval = \"0s\"\n"
             "auto_prune_parallelism = 10\n"
             "\n"
             "# Topic creation options\n"
             "auto_create_topics = true\n"
             "num_topics = 64\n"
             "replication_factor = 1\n"
             "topic_name_prefix = \"greptimedb_wal_topic\"\n");
    ck_assert_int_eq(cfg.wal.provider, KW_WAL_PROVIDER_KAFKA);
    ck_assert_str_eq(cfg.wal.kafka.bootstrap, "127.0.0.1:9092");
    ck_assert_uint_eq(cfg.auto_prune_interval_ms, 0);
    ck_assert_uint_eq(cfg.auto_prune_parallelism, 10);
    ck_assert(cfg.auto_create_topics);
    ck_assert_uint_eq(cfg.num_topics, 64);
    ck_assert_int_eq(cfg.replication_factor, 1);
    ck_assert_str_eq(cfg.topic_name_prefix, "greptimedb_wal_topic");
    ck_assert_str_eq(cfg.notes, "");
}
END_TEST

START_TEST(seed_000_datanode_example)
{
    parse_ok("[wal]\n"
             "provider = \"kafka\"\n"
             "broker_endpoints = [\"kafka.kafka-cluster.svc:9092\"]\n"
             "max_batch_bytes = \"1MB\"\n"
             "overwrite_entry_start_id = true\n");
    ck_assert_int_eq(cfg.wal.provider, KW_WAL_PROVIDER_KAFKA);
    ck_assert_str_eq(cfg.wal.kafka.bootstrap, "kafka.kafka-cluster.svc:9092");
    ck_assert_uint_eq(cfg.wal.max_batch_bytes, 1048576);
    ck_assert(cfg.wal.overwrite_entry_start_id);
    ck_assert_ptr_null(cfg.wal.kafka.sasl_mechanism);
    ck_assert_int_eq(cfg.wal.kafka.security, KW_CLIENT_PLAINTEXT);
}
END_TEST

START_TEST(seed_000_sasl_example)
{
    parse_ok("[wal]\n"
             "broker_endpoints = [\"kafka.kafka-cluster.svc:9092\"]\n"
             "\n"
             "[wal.sasl]\n"
             "type = \"SCRAM-SHA-512\"\n"
             "username = \"user\"\n"
             "password = \"secret\"\n");
    ck_assert_str_eq(cfg.wal.kafka.bootstrap, "kafka.kafka-cluster.svc:9092");
    ck_assert_str_eq(cfg.wal.kafka.sasl_mechanism, "SCRAM-SHA-512");
    ck_assert_str_eq(cfg.wal.kafka.sasl_username, "user");
    ck_assert_str_eq(cfg.wal.kafka.sasl_password, "secret");
    /* provider is not given: GreptimeDB's default is its embedded log, kwal's local */
    ck_assert_int_eq(cfg.wal.provider, KW_WAL_PROVIDER_LOCAL);
}
END_TEST

START_TEST(seed_000_tls_system_ca_example)
{
    parse_ok("[wal]\n"
             "broker_endpoints = [\"kafka.kafka-cluster.svc:9092\"]\n"
             "\n"
             "[wal.tls]\n");
    ck_assert(cfg.wal.kafka.security == KW_CLIENT_SSL ||
              cfg.wal.kafka.security == KW_CLIENT_SASL_SSL);
    ck_assert_ptr_null(cfg.wal.kafka.tls_ca_file);
    ck_assert_ptr_null(cfg.wal.kafka.tls_cert_file);
    ck_assert_ptr_null(cfg.wal.kafka.tls_key_file);
}
END_TEST

START_TEST(seed_000_tls_custom_ca_example)
{
    parse_ok("[wal]\n"
             "broker_endpoints = [\"kafka.kafka-cluster.svc:9092\"]\n"
             "\n"
             "[wal.tls]\n"
             "server_ca_cert_path = \"/path/to/server.crt\"\n");
    ck_assert(cfg.wal.kafka.security == KW_CLIENT_SSL ||
              cfg.wal.kafka.security == KW_CLIENT_SASL_SSL);
    ck_assert_str_eq(cfg.wal.kafka.tls_ca_file, "/path/to/server.crt");
    ck_assert_ptr_null(cfg.wal.kafka.tls_cert_file);
}
END_TEST

START_TEST(seed_000_mtls_example)
{
    parse_ok("[wal]\n"
             "broker_endpoints = [\"kafka.kafka-cluster.svc:9092\"]\n"
             "[wal.tls]\n"
             "server_ca_cert_path = \"/path/to/server_cert\"\n"
             "client_cert_path = \"/path/to/client_cert\"\n"
             "client_key_path = \"/path/to/key\"\n");
    ck_assert(cfg.wal.kafka.security == KW_CLIENT_SSL ||
              cfg.wal.kafka.security == KW_CLIENT_SASL_SSL);
    ck_assert_str_eq(cfg.wal.kafka.tls_ca_file, "/path/to/server_cert");
    ck_assert_str_eq(cfg.wal.kafka.tls_cert_file, "/path/to/client_cert");
    ck_assert_str_eq(cfg.wal.kafka.tls_key_file, "/path/to/key");
}
END_TEST

/* Seed 001 (the Kafka Remote WAL how-to): the standalone example, with the old max_batch_size. */
START_TEST(seed_001_standalone_example)
{
    parse_ok("[wal]\n"
             "provider = \"kafka\"\n"
             "broker_endpoints = [\"127.0.0.1:9092\"]\n"
             "replication_factor = 1\n"
             "max_batch_size = \"1MB\"\n");
    ck_assert_int_eq(cfg.wal.provider, KW_WAL_PROVIDER_KAFKA);
    ck_assert_str_eq(cfg.wal.kafka.bootstrap, "127.0.0.1:9092");
    ck_assert_int_eq(cfg.replication_factor, 1);
    ck_assert_uint_eq(cfg.wal.max_batch_bytes, MIB);
}
END_TEST

/*
 * Seed 001's other block marked toml is gtctl's cluster.yml, which is YAML: it is
 * refused at its first line, not half read.
 */
START_TEST(seed_001_gtctl_block_is_yaml_and_refused)
{
    parse_err("cluster:\n"
              "  name: mycluster\n"
              "  artifact:\n"
              "    local: \"/path/to/greptime\"\n"
              "  frontend:\n"
              "    replicas: 1\n"
              "  datanode:\n"
              "    replicas: 3\n"
              "    rpcAddr: 0.0.0.0:14100\n"
              "    mysqlAddr: 0.0.0.0:14200\n"
              "    httpAddr: 0.0.0.0:14300\n"
              "    config: '/path/to/datanode.example.toml'\n"
              "  meta:\n"
              "    replicas: 1\n"
              "    storeAddr: 127.0.0.1:2379\n"
              "    serverAddr: 0.0.0.0:3002\n"
              "    httpAddr: 0.0.0.0:14001\n"
              "    config: '/path/to/metasrv.example.toml'\n"
              "etcd:\n"
              "  artifact:\n"
              "    local: \"/path/to/etcd\"\n",
              "wal.toml:1:8: expected '=' after the key 'cluster'");
}
END_TEST

/* Defaults -------------------------------------------------------------------------------- */

static void assert_defaults(void)
{
    ck_assert_int_eq(cfg.wal.provider, KW_WAL_PROVIDER_LOCAL);
    ck_assert_str_eq(cfg.wal.kafka.bootstrap, "127.0.0.1:9092");
    ck_assert_uint_eq(cfg.wal.max_batch_bytes, MIB);
    ck_assert(!cfg.wal.overwrite_entry_start_id);
    ck_assert_uint_eq(cfg.wal.kafka.connect_timeout_ms, 3000);
    ck_assert_uint_eq(cfg.wal.timeout_ms, 3000);
    ck_assert_ptr_null(cfg.wal.dir);
    ck_assert_ptr_null(cfg.wal.topic);
    ck_assert_int_eq(cfg.wal.record_format, KW_WAL_FORMAT_KWAL);
    ck_assert_int_eq(cfg.wal.compression, KW_WAL_COMPRESSION_LZ4);
    ck_assert_uint_eq(cfg.wal.segment_bytes, 0);
    ck_assert_uint_eq(cfg.wal.fetch_max_bytes, 0);
    ck_assert_uint_eq(cfg.wal.max_buffered_bytes, 0);
    ck_assert_uint_eq(cfg.wal.max_in_flight, 0);
    ck_assert(!cfg.wal.append_fail_fast && !cfg.wal.no_idempotence && !cfg.wal.strict_records);
    ck_assert_ptr_null(cfg.wal.kafka.sasl_mechanism);
    ck_assert_int_eq(cfg.wal.kafka.security, KW_CLIENT_PLAINTEXT);
    ck_assert(cfg.auto_create_topics);
    ck_assert_uint_eq(cfg.num_topics, 64);
    ck_assert_uint_eq(cfg.num_partitions, 1);
    ck_assert_int_eq(cfg.replication_factor, 1);
    ck_assert_str_eq(cfg.topic_name_prefix, "greptimedb_wal_topic");
    ck_assert_uint_eq(cfg.create_topic_timeout_ms, 30000);
    ck_assert_uint_eq(cfg.auto_prune_interval_ms, 30 * 60 * 1000);
    ck_assert_uint_eq(cfg.auto_prune_parallelism, 10);
    ck_assert_uint_eq(cfg.flush_trigger_size, 512 * MIB);
    ck_assert_uint_eq(cfg.checkpoint_trigger_size, 128 * MIB);
    ck_assert(!cfg.provider_from_raft_engine);
}

START_TEST(defaults_with_no_file_no_wal_section_or_an_empty_one)
{
    ck_assert_int_eq(kw__wal_config_init(&cfg), 0);
    assert_defaults();
    kw__wal_config_free(&cfg);
    parse_ok("");
    assert_defaults();
    kw__wal_config_free(&cfg);
    parse_ok("[http]\naddr = \"127.0.0.1:4000\"\n");
    assert_defaults();
    kw__wal_config_free(&cfg);
    parse_ok("[wal]\n");
    assert_defaults();
}
END_TEST

START_TEST(every_key_sets_its_field)
{
    parse_ok("[wal]\n"
             "provider = 'kafka'\n"
             "broker_endpoints = [\n"
             "  \"k1:9092\",\n"
             "  \"[::1]:9093\", # v6\n"
             "]\n"
             "max_batch_bytes = 524288\n"
             "overwrite_entry_start_id = false\n"
             "connect_timeout = \"1s 500ms\"\n"
             "timeout = \"1m\"\n"
             "auto_create_topics = false\n"
             "num_topics = 8\n"
             "num_partitions = 1\n"
             "selector_type = \"round_robin\"\n"
             "replication_factor = 3\n"
             "topic_name_prefix = \"wal-a.b_c\"\n"
             "create_topic_timeout = \"45s\"\n"
             "auto_prune_interval = \"1h30m\"\n"
             "auto_prune_parallelism = 4\n"
             "flush_trigger_size = \"256MiB\"\n"
             "checkpoint_trigger_size = \"0.5GB\"\n"
             "dir = \"/var/lib/wal\"\n"
             "segment_bytes = \"16MiB\"\n"
             "topic = \"my_topic\"\n"
             "record_format = \"greptimedb\"\n"
             "compression = \"none\"\n"
             "fetch_max_bytes = \"8MiB\"\n"
             "max_buffered_bytes = \"1GiB\"\n"
             "append_fail_fast = true\n"
             "max_in_flight = 5\n"
             "no_idempotence = false\n"
             "no_coalesce = true\n"
             "no_region_runs = true\n"
             "strict_records = true\n"
             "[wal.sasl]\n"
             "type = \"PLAIN\"\n"
             "username = \"u\"\n"
             "password = \"\"\n");
    kw_wal_options *o = &cfg.wal;
    ck_assert_int_eq(o->provider, KW_WAL_PROVIDER_KAFKA);
    ck_assert_str_eq(o->kafka.bootstrap, "k1:9092,[::1]:9093");
    ck_assert_uint_eq(o->max_batch_bytes, 524288);
    ck_assert(!o->overwrite_entry_start_id);
    ck_assert_uint_eq(o->kafka.connect_timeout_ms, 1500);
    ck_assert_uint_eq(o->timeout_ms, 60000);
    ck_assert(!cfg.auto_create_topics);
    ck_assert_uint_eq(cfg.num_topics, 8);
    ck_assert_int_eq(cfg.replication_factor, 3);
    ck_assert_str_eq(cfg.topic_name_prefix, "wal-a.b_c");
    ck_assert_uint_eq(cfg.create_topic_timeout_ms, 45000);
    ck_assert_uint_eq(cfg.auto_prune_interval_ms, 90 * 60 * 1000);
    ck_assert_uint_eq(cfg.auto_prune_parallelism, 4);
    ck_assert_uint_eq(cfg.flush_trigger_size, 256 * MIB);
    ck_assert_uint_eq(cfg.checkpoint_trigger_size, 512 * MIB);
    ck_assert_str_eq(o->dir, "/var/lib/wal");
    ck_assert_uint_eq(o->segment_bytes, 16 * MIB);
    ck_assert_str_eq(o->topic, "my_topic");
    ck_assert_int_eq(o->record_format, KW_WAL_FORMAT_GREPTIMEDB);
    ck_assert_int_eq(o->compression, KW_WAL_COMPRESSION_NONE);
    ck_assert(o->no_coalesce);
    ck_assert(o->no_region_runs);
    ck_assert_uint_eq(o->fetch_max_bytes, 8 * MIB);
    ck_assert_uint_eq(o->max_buffered_bytes, 1024 * MIB);
    ck_assert(o->append_fail_fast);
    ck_assert_uint_eq(o->max_in_flight, 5);
    ck_assert(!o->no_idempotence);
    ck_assert(o->strict_records);
    ck_assert_str_eq(o->kafka.sasl_mechanism, "PLAIN");
    ck_assert_str_eq(o->kafka.sasl_username, "u");
    ck_assert_str_eq(o->kafka.sasl_password, "");
    ck_assert_int_eq(o->kafka.security, KW_CLIENT_SASL_PLAINTEXT);
}
END_TEST

START_TEST(raft_engine_reads_as_local_with_a_note_and_greptimedb_keys_are_accepted)
{
    /* The [wal] of a GreptimeDB datanode file, in its own words, amid the file's other tables. */
    parse_ok("mode = \"standalone\"\n"
             "[http]\n"
             "timeout = \"30s\"\n"
             "[wal]\n"
             "provider = \"raft_engine\"\n"
             "dir = \"/tmp/greptimedb/wal\"\n"
             "file_size = \"128MB\"\n"
             "purge_threshold = \"1GB\"\n"
             "purge_interval = \"1m\"\n"
             "read_batch_size = 128\n"
             "sync_write = false\n"
             "enable_log_recycle = true\n"
             "prefill_log_files = false\n"
             "sync_period = \"10s\"\n"
             "recovery_parallelism = 2\n"
             "broker_endpoints = [\"127.0.0.1:9092\"]\n"
             "max_batch_bytes = \"1MB\"\n"
             "consumer_wait_timeout = \"100ms\"\n"
             "backoff_init = \"500ms\"\n"
             "backoff_max = \"10s\"\n"
             "backoff_base = 2\n"
             "backoff_deadline = \"5mins\"\n"
             "create_index = true\n"
             "dump_index_interval = \"60s\"\n"
             "overwrite_entry_start_id = false\n"
             "[storage]\n"
             "type = \"File\"\n"
             "[[region_engine]]\n"
             "[region_engine.mito]\n"
             "worker_channel_size = 128\n"
             "[[region_engine]]\n"
             "[region_engine.file]\n"
             "[logging.tracing_sample_ratio]\n"
             "default_ratio = 1.0\n"
             "[export_metrics.remote_write]\n"
             "headers = { }\n");
    ck_assert_int_eq(cfg.wal.provider, KW_WAL_PROVIDER_LOCAL);
    ck_assert(cfg.provider_from_raft_engine);
    ck_assert_str_eq(cfg.wal.dir, "/tmp/greptimedb/wal");
    ck_assert_uint_eq(cfg.wal.segment_bytes, 128 * MIB);
    ck_assert_str_eq(cfg.notes,
                     "wal.toml:5: provider 'raft_engine' is read as 'local' (kwal's own log "
                     "format, "
                     "not raft-engine files)\n"
                     "wal.toml: GreptimeDB options in [wal] that kwal does not use: "
                     "purge_threshold, "
                     "purge_interval, read_batch_size, sync_write, enable_log_recycle, "
                     "prefill_log_files, sync_period, recovery_parallelism, consumer_wait_timeout, "
                     "backoff_init, backoff_max, backoff_base, backoff_deadline, create_index, "
                     "dump_index_interval\n");
}
END_TEST

START_TEST(gssapi_needs_no_username_and_takes_a_service_name)
{
    parse_ok(
        "[wal]\nbroker_endpoints = [\"b1.example.com:9092\"]\n[wal.sasl]\ntype = \"GSSAPI\"\n");
    ck_assert_str_eq(cfg.wal.kafka.sasl_mechanism, "GSSAPI");
    ck_assert_ptr_null(cfg.wal.kafka.sasl_username);
    ck_assert_ptr_null(cfg.wal.kafka.sasl_kerberos_service_name);
    kw__wal_config_free(&cfg);
    parse_ok("[wal.sasl]\ntype = \"GSSAPI\"\nkerberos_service_name = \"kafka-prod\"\n");
    ck_assert_str_eq(cfg.wal.kafka.sasl_kerberos_service_name, "kafka-prod");
}
END_TEST

START_TEST(sasl_and_tls_may_be_inline_tables)
{
    parse_ok("[wal]\n"
             "sasl = { type = \"SCRAM-SHA-256\", username = \"a\", password = \"b\" }\n"
             "tls = {}\n");
    ck_assert_str_eq(cfg.wal.kafka.sasl_mechanism, "SCRAM-SHA-256");
    ck_assert(cfg.wal.kafka.security == KW_CLIENT_SSL ||
              cfg.wal.kafka.security == KW_CLIENT_SASL_SSL);
}
END_TEST

START_TEST(a_file_is_read_and_a_missing_one_named)
{
    char path[] = "/tmp/kwal_test_config_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "[wal]\nprovider = \"kafka\"\nnum_topics = 3\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert_int_eq(kw__wal_config_load(path, &cfg, err, sizeof(err)), 0);
    ck_assert_uint_eq(cfg.num_topics, 3);
    kw__wal_config_free(&cfg);

    FILE *f = fopen(path, "w");
    fputs("[wal]\nnum_topics = 0\n", f);
    fclose(f);
    ck_assert_int_eq(kw__wal_config_load(path, &cfg, err, sizeof(err)), KW_ECONFIG);
    char want[256];
    snprintf(want, sizeof(want), "%s:2: num_topics: 0 is out of range (1 to 1000000)", path);
    ck_assert_str_eq(err, want);
    unlink(path);

    ck_assert_int_eq(kw__wal_config_load(path, &cfg, err, sizeof(err)), KW_ECONFIG);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    ck_assert_str_eq(err, want);
}
END_TEST

/* Errors: each names the file, the line and the key. ------------------------------------- */

START_TEST(unknown_keys_are_errors_with_a_hint)
{
    parse_err("[wal]\nprovider = \"kafka\"\nbrokers = [\"a:1\"]\n",
              "wal.toml:3: unknown key 'brokers' in [wal] (did you mean broker_endpoints?)");
    parse_err("[wal]\nnum_topic = 3\n",
              "wal.toml:2: unknown key 'num_topic' in [wal] (did you mean num_topics?)");
    parse_err("[wal]\nzzz = 3\n", "wal.toml:2: unknown key 'zzz' in [wal]");
    parse_err("[wal.sasl]\ntype = \"PLAIN\"\nuser = \"u\"\n",
              "wal.toml:3: unknown key 'user' in [wal.sasl] (did you mean username?)");
    parse_err("[wal.tls]\nca_path = \"/x\"\n", "wal.toml:2: unknown key 'ca_path' in [wal.tls]");
    parse_err("[wal.kafka]\n", "wal.toml:1: unknown key 'kafka' in [wal]");
    parse_err("[wal]\nprovider.x = 1\n",
              "wal.toml:2: provider: expected a string, not a table");
}
END_TEST

START_TEST(wrong_types_are_errors)
{
    parse_err("[wal]\nprovider = 1\n", "wal.toml:2: provider: expected a string, not an integer");
    parse_err("[wal]\noverwrite_entry_start_id = \"yes\"\n",
              "wal.toml:2: overwrite_entry_start_id: expected true or false, not a string");
    parse_err("[wal]\nnum_topics = \"64\"\n",
              "wal.toml:2: num_topics: expected an integer, not a string");
    parse_err("[wal]\nnum_topics = 6.4\n", "wal.toml:2: num_topics: expected an integer, not a "
                                           "float");
    parse_err("[wal]\ntimeout = 3\n",
              "wal.toml:2: timeout: expected a duration such as \"3s\", not an integer");
    parse_err("[wal]\nmax_batch_bytes = true\n",
              "wal.toml:2: max_batch_bytes: expected a size such as \"1MiB\", not a boolean");
    parse_err("[wal]\nbroker_endpoints = \"a:1\"\n",
              "wal.toml:2: broker_endpoints: expected an array of \"host:port\" strings, not a "
              "string");
    parse_err("[wal]\nbroker_endpoints = [\n\"a:1\",\n 2]\n",
              "wal.toml:4: broker_endpoints: expected \"host:port\" strings, not an integer");
    parse_err("[wal]\nsasl = \"PLAIN\"\n",
              "wal.toml:2: sasl: expected a table ([wal.sasl]), not a string");
    parse_err("[wal.sasl]\ntype = \"PLAIN\"\nusername = 1\npassword = \"p\"\n",
              "wal.toml:3: sasl.username: expected a string, not an integer");
    parse_err("[wal]\nbackoff_base = \"2\"\n", "wal.toml:2: backoff_base: expected a number, not "
                                               "a string");
    parse_err("wal = 1\n", "wal.toml:1: wal: expected a table ([wal]), not an integer");
    parse_err("[[wal]]\n", "wal.toml:1: wal: expected a table ([wal]), not an array");
}
END_TEST

START_TEST(bad_values_are_errors)
{
    parse_err("[wal]\n\nmax_batch_bytes = \"1XB\"\n",
              "wal.toml:3: max_batch_bytes: '1XB' is not a size (use B, KB, MB, GB, KiB, MiB, "
              "GiB)");
    parse_err("[wal]\nmax_batch_bytes = -1\n", "wal.toml:2: max_batch_bytes: a size cannot be "
                                               "negative");
    parse_err("[wal]\nmax_batch_bytes = 0\n",
              "wal.toml:2: max_batch_bytes: 0 bytes is out of range (1 to 2147483647 bytes)");
    parse_err("[wal]\nmax_batch_bytes = \"2GiB\"\n",
              "wal.toml:2: max_batch_bytes: 2147483648 bytes is out of range (1 to 2147483647 "
              "bytes)");
    parse_err("[wal]\ntimeout = \"3x\"\n",
              "wal.toml:2: timeout: '3x' is not a duration (use ms, s, m, h, d, as in \"1h30m\")");
    parse_err("[wal]\nconnect_timeout = \"0s\"\n",
              "wal.toml:2: connect_timeout: 0 ms is out of range (1 to 4294967295 ms)");
    parse_err("[wal]\ntimeout = \"50d\"\n",
              "wal.toml:2: timeout: 4320000000 ms is out of range (1 to 4294967295 ms)");
    parse_err("[wal]\nprovider = \"Kafka\"\n",
              "wal.toml:2: provider: 'Kafka' is not a provider (use \"local\" or \"kafka\")");
    parse_err("[wal]\ncompression = \"zstd\"\n",
              "wal.toml:2: compression: 'zstd' is not supported (use \"lz4\" or \"none\")");
    parse_err("[wal]\ncompression = 1\n",
              "wal.toml:2: compression: expected a string, not an integer");
    parse_err("[wal]\nrecord_format = \"json\"\n",
              "wal.toml:2: record_format: 'json' is not a format (use \"kwal\" or \"greptimedb\")");
    parse_err("[wal]\nselector_type = \"hash\"\n",
              "wal.toml:2: selector_type: 'hash' is not a selector (use \"round_robin\" or \"random\")");
    parse_err("[wal]\nnum_topics = 0\n", "wal.toml:2: num_topics: 0 is out of range (1 to "
                                         "1000000)");
    parse_err("[wal]\nreplication_factor = 40000\n",
              "wal.toml:2: replication_factor: 40000 is out of range (1 to 32767)");
    parse_err("[wal]\nreplication_factor = -1\n",
              "wal.toml:2: replication_factor: -1 is out of range (1 to 32767)");
    parse_err("[wal]\nauto_prune_parallelism = 0\n",
              "wal.toml:2: auto_prune_parallelism: 0 is out of range (1 to 65535)");
    parse_err("[wal]\nnum_partitions = 0\n",
              "wal.toml:2: num_partitions: 0 is out of range (1 to 2147483647)");
    parse_err("[wal]\nmax_in_flight = 0\n", "wal.toml:2: max_in_flight: 0 is out of range (1 to "
                                            "1024)");
    parse_err("[wal]\nsegment_bytes = \"64KiB\"\n",
              "wal.toml:2: segment_bytes: 65536 bytes is out of range (1048576 to "
              "9223372036854775807 bytes)");
    parse_err("[wal]\nfetch_max_bytes = \"4GB\"\n",
              "wal.toml:2: fetch_max_bytes: 4294967296 bytes is out of range (1 to 2147483647 "
              "bytes)");
    parse_err("[wal]\ndir = \"\"\n", "wal.toml:2: dir: the path is empty");
    parse_err("[wal]\nbroker_endpoints = []\n", "wal.toml:2: broker_endpoints: the list is empty");
    parse_err("[wal]\nbroker_endpoints = [\"kafka\"]\n",
              "wal.toml:2: broker_endpoints: 'kafka' is not host:port");
    parse_err("[wal]\nbroker_endpoints = [\"a:1,b:2\"]\n",
              "wal.toml:2: broker_endpoints: 'a:1,b:2' is not host:port");
    parse_err("[wal]\nbroker_endpoints = [\"a:70000\"]\n",
              "wal.toml:2: broker_endpoints: 'a:70000' is not host:port");
    parse_err("[wal]\ntopic = \"a b\"\n",
              "wal.toml:2: topic: 'a b' has ' ', which Kafka does not allow in topic names "
              "(letters, digits, '.', '_', '-')");
    parse_err("[wal]\ntopic = \"..\"\n", "wal.toml:2: topic: '..' is not a valid Kafka topic name");
    parse_err("[wal.sasl]\ntype = \"KERBEROS\"\n",
              "wal.toml:2: sasl.type: 'KERBEROS' is not a mechanism (use \"PLAIN\", "
              "\"SCRAM-SHA-256\", \"SCRAM-SHA-512\", \"GSSAPI\", \"OAUTHBEARER\" or "
              "\"AWS_MSK_IAM\")");
    parse_err("[wal.sasl]\ntype = \"GSSAPI\"\nkerberos_service_name = \"kafka/host\"\n",
              "wal.toml:3: sasl.kerberos_service_name: 'kafka/host' is not a Kerberos service "
              "name (no '/', '@' or spaces)");
    parse_err("[wal.sasl]\ntype = \"GSSAPI\"\nusername = \"u\"\n",
              "wal.toml:1: [wal.sasl]: type GSSAPI takes no username or password (the Kerberos "
              "credential cache, KRB5CCNAME, says who the WAL is)");
    parse_err("[wal.sasl]\ntype = \"PLAIN\"\nusername = \"u\"\npassword = \"p\"\n"
              "kerberos_service_name = \"kafka\"\n",
              "wal.toml:1: [wal.sasl]: kerberos_service_name goes with type GSSAPI only");
    parse_err("[wal.sasl]\ntype = \"PLAIN\"\nusername = \"\"\n",
              "wal.toml:3: sasl.username: the name is empty");
    parse_err("[wal.tls]\nclient_key_path = \"\"\n", "wal.toml:2: tls.client_key_path: the path "
                                                     "is empty");
}
END_TEST

START_TEST(topic_name_prefix_follows_greptimedb_and_kafka)
{
    parse_ok("[wal]\ntopic_name_prefix = \"_x-1.y\"\n");
    ck_assert_str_eq(cfg.topic_name_prefix, "_x-1.y");
    kw__wal_config_free(&cfg);
    parse_err("[wal]\ntopic_name_prefix = \"1abc\"\n",
              "wal.toml:2: topic_name_prefix: '1abc' does not match "
              "[a-zA-Z_:-][a-zA-Z0-9_:\\-\\.@#]*");
    parse_err("[wal]\ntopic_name_prefix = \".abc\"\n",
              "wal.toml:2: topic_name_prefix: '.abc' does not match "
              "[a-zA-Z_:-][a-zA-Z0-9_:\\-\\.@#]*");
    parse_err("[wal]\ntopic_name_prefix = \"\"\n",
              "wal.toml:2: topic_name_prefix: '' does not match [a-zA-Z_:-][a-zA-Z0-9_:\\-\\.@#]*");
    parse_err("[wal]\ntopic_name_prefix = \"a b\"\n",
              "wal.toml:2: topic_name_prefix: 'a b' does not match "
              "[a-zA-Z_:-][a-zA-Z0-9_:\\-\\.@#]*");
    /* GreptimeDB's pattern takes these; Kafka's topic names do not. */
    parse_err("[wal]\ntopic_name_prefix = \"wal@x\"\n",
              "wal.toml:2: topic_name_prefix: 'wal@x' has '@', which Kafka does not allow in topic "
              "names (letters, digits, '.', '_', '-')");
    parse_err("[wal]\ntopic_name_prefix = \":wal\"\n",
              "wal.toml:2: topic_name_prefix: ':wal' has ':', which Kafka does not allow in topic "
              "names (letters, digits, '.', '_', '-')");
    char text[400] = "[wal]\nnum_topics = 100\ntopic_name_prefix = \"";
    size_t n = strlen(text);
    memset(text + n, 'p', 246); /* 246 + "_99" = 249: fits */
    strcpy(text + n + 246, "\"\n");
    parse_ok(text);
    kw__wal_config_free(&cfg);
    memcpy(text + 6, "num_topics = 101", 16); /* "_100": 250 */
    parse_err(text,
              "wal.toml:3: topic_name_prefix: too long: topic names would pass Kafka's 249 "
              "characters");
}
END_TEST

START_TEST(options_that_go_together)
{
    parse_err("[wal]\nmax_batch_bytes = \"1MB\"\nmax_batch_size = \"2MB\"\n",
              "wal.toml:3: max_batch_size: the same option as max_batch_bytes (line 2); give one "
              "of "
              "them");
    parse_err("[wal]\nfile_size = \"2MB\"\nsegment_bytes = \"2MB\"\n",
              "wal.toml:3: segment_bytes: the same option as file_size (line 2); give one of them");
    parse_err("[wal]\n[wal.sasl]\ntype = \"PLAIN\"\nusername = \"u\"\n",
              "wal.toml:2: [wal.sasl]: password is missing");
    parse_err("[wal]\n[wal.sasl]\nusername = \"u\"\npassword = \"p\"\n",
              "wal.toml:2: [wal.sasl]: type is missing");
    parse_err("[wal]\nsasl = { type = \"PLAIN\", password = \"p\" }\n",
              "wal.toml:2: [wal.sasl]: username is missing");
    parse_err("[wal.tls]\nclient_cert_path = \"/c\"\n",
              "wal.toml:1: [wal.tls]: client_cert_path and client_key_path go together (mutual TLS "
              "needs both)");
    parse_err("[wal]\nmax_in_flight = 6\n",
              "wal.toml:2: max_in_flight: 6 is more than 5, the most an idempotent producer may "
              "have "
              "(or set no_idempotence = true)");
    parse_ok("[wal]\nmax_in_flight = 16\nno_idempotence = true\n");
    ck_assert_uint_eq(cfg.wal.max_in_flight, 16);
}
END_TEST

START_TEST(api_version_max_names_a_known_release)
{
    parse_ok("[wal]\napi_version_max = \"3.9.0\"\n");
    ck_assert_str_eq(cfg.wal.kafka.api_version_max, "3.9.0");
    kw__wal_config_free(&cfg);
    parse_ok("[wal]\n");
    ck_assert_ptr_null(cfg.wal.kafka.api_version_max); /* absent: no cap */
    kw__wal_config_free(&cfg);
    parse_err("[wal]\napi_version_max = \"3.9.x\"\n",
              "wal.toml:2: api_version_max \"3.9.x\" is not a Kafka release (want MAJOR.MINOR or "
              "MAJOR.MINOR.PATCH, e.g. 3.9 or 3.9.0)");
    parse_err("[wal]\napi_version_max = \"2.8.1\"\n",
              "wal.toml:2: api_version_max \"2.8.1\": kwal knows the API versions of Kafka 3.0 to "
              "4.4 only");
    parse_err("[wal]\napi_version_max = 39\n",
              "wal.toml:2: api_version_max: expected a string, not an integer");
}
END_TEST

START_TEST(toml_errors_carry_line_and_column)
{
    parse_err("[wal]\nprovider = kafka\n",
              "wal.toml:2:12: expected a value (strings need quotes)");
    parse_err("[wal]\nnum_topics = 1\nnum_topics = 2\n",
              "wal.toml:3:1: duplicate key 'num_topics' (first set at line 2)");
    parse_err("[wal]\n[wal]\n", "wal.toml:2:1: table 'wal' is defined twice (first at line 1)");
    parse_err("[wal]\nbroker_endpoints = [\"a:1\"\n", "wal.toml:2:20: array is not closed");
    parse_err("[wal]\ncreated = 1979-05-27\n",
              "wal.toml:2:11: not supported: dates and times (quote the value as a string)");
    parse_err("[wal]\nx = \"\\u0000\"\n", "wal.toml:2:6: not supported: a NUL character in a "
                                          "string");
    kw__wal_config_free(&cfg);
    /* No filename: "config". */
    int rc = kw__wal_config_parse("x = ", 4, NULL, &cfg, err, sizeof(err));
    ck_assert_int_eq(rc, KW_ECONFIG);
    ck_assert_str_eq(err, "config:1:5: expected a value");
}
END_TEST

/* Sizes and durations --------------------------------------------------------------------- */

START_TEST(sizes_are_binary_like_greptimedb)
{
    static const struct {
        const char *s;
        uint64_t v;
    } good[] = {
        {"0", 0},
        {"23", 23},
        {"1024B", 1024},
        {"1K", 1024},
        {"1KB", 1024},
        {"1KiB", 1024},
        {"1MB", 1048576},
        {"1MiB", 1048576},
        {"3M", 3 * MIB},
        {"1GB", 1024 * MIB},
        {"5GiB", 5 * 1024 * MIB},
        {"2TiB", 2 * (1024 * 1024 * MIB)},
        {"1PB", 1024 * 1024 * 1024 * MIB},
        {"0.5MB", MIB / 2},
        {"0.5KiB", 512},
        {"1.25 KB", 1280},
        {" 1 KiB ", 1024},
        {"0.1KB", 102}, /* truncated to a whole byte */
        {"16383PiB", (uint64_t)16383 << 50},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint64_t v = 1;
        ck_assert_msg(kw__wal_config_parse_size(good[i].s, &v) == 0, "%s", good[i].s);
        ck_assert_msg(v == good[i].v, "%s: %llu", good[i].s, (unsigned long long)v);
    }
    static const char *bad[] = {"",     "B",    "1XB",    "0.5kb", "0.5kB", "1b",    "gb",
                                "1K24B", "5_KB", "4B7",    "5M_",  "-1KB",  "1.",    ".5MB",
                                "1e6B", "16384PiB", "0.1234567891KB", "18446744073709551616",
                                "1 K B"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v;
        ck_assert_msg(kw__wal_config_parse_size(bad[i], &v) == -1, "%s", bad[i]);
    }
}
END_TEST

START_TEST(durations_are_humantime)
{
    static const struct {
        const char *s;
        uint64_t ms;
    } good[] = {
        {"0", 0},
        {"0s", 0},
        {"500ms", 500},
        {"3s", 3000},
        {"30m", 1800000},
        {"1h30m", 5400000},
        {"1h 30m", 5400000},
        {"2d", 172800000},
        {"1w", 604800000},
        {"5mins", 300000},
        {"10sec", 10000},
        {"1hr", 3600000},
        {"2 hours", 7200000},
        {"1000000ns", 1},
        {"1000us", 1},
        {"1M", 2630016000},
        {"1y", 31557600000},
        {"1s500ms", 1500},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint64_t v = 1;
        ck_assert_msg(kw__wal_config_parse_duration(good[i].s, &v) == 0, "%s", good[i].s);
        ck_assert_msg(v == good[i].ms, "%s: %llu", good[i].s, (unsigned long long)v);
    }
    static const char *bad[] = {"",   "3",   "3x",  "s",     "1.5s", "-1s", "1h30",
                                "1 S", "1ns", "500us", "m5",  "1s,2s", "600y",
                                "99999999999999999999s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v;
        ck_assert_msg(kw__wal_config_parse_duration(bad[i], &v) == -1, "%s", bad[i]);
    }
}
END_TEST

/* The TOML reader itself ------------------------------------------------------------------- */

static kw__toml_value *doc;
static int toml_line;

static void toml_ok(const char *text)
{
    int rc = kw__toml_parse(text, strlen(text), NULL, &doc, err, sizeof(err), &toml_line);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
}

static void toml_teardown(void)
{
    kw__toml_free(doc);
    doc = NULL;
}

static const kw__toml_value *at(const char *a, const char *b, const char *c)
{
    const char *keys[] = {a, b, c, NULL};
    return kw__toml_path(doc, keys);
}

START_TEST(toml_strings)
{
    toml_ok("a = \"tab\\there \\\"q\\\" \\\\ \\u00e9 \\U0001F600 \\b\\f\\r\\n\"\n"
            "b = 'C:\\path\\no escapes'\n"
            "c = \"\"\"\nline1\n  line2 \\\n    joined\"\"\"\n"
            "d = '''\n\\raw\n'''\n"
            "e = \"\"\"two \"\"quotes\"\"\"\"\"\n"
            "\"quoted key\" = 1\n"
            "'lit key' = 2\n"
            "\"\" = 3\n"
            "f = \"\xC3\xA9t\xC3\xA9\"\n"
            "g = \"\"\"\"\"\"\"\n"
            "h = '''''x'''''\n");
    ck_assert_str_eq(at("a", 0, 0)->u.str.ptr,
                     "tab\there \"q\" \\ \xC3\xA9 \xF0\x9F\x98\x80 \b\f\r\n");
    ck_assert_str_eq(at("b", 0, 0)->u.str.ptr, "C:\\path\\no escapes");
    ck_assert_str_eq(at("c", 0, 0)->u.str.ptr, "line1\n  line2 joined");
    ck_assert_str_eq(at("d", 0, 0)->u.str.ptr, "\\raw\n");
    ck_assert_str_eq(at("e", 0, 0)->u.str.ptr, "two \"\"quotes\"\"");
    ck_assert_int_eq(at("quoted key", 0, 0)->u.integer, 1);
    ck_assert_int_eq(at("lit key", 0, 0)->u.integer, 2);
    ck_assert_int_eq(at("", 0, 0)->u.integer, 3);
    ck_assert_str_eq(at("f", 0, 0)->u.str.ptr, "\xC3\xA9t\xC3\xA9");
    ck_assert_uint_eq(at("f", 0, 0)->u.str.len, 5);
    ck_assert_int_eq(at("c", 0, 0)->line, 3);
    ck_assert_str_eq(at("g", 0, 0)->u.str.ptr, "\"");
    ck_assert_str_eq(at("h", 0, 0)->u.str.ptr, "''x''");
}
END_TEST

START_TEST(toml_numbers_and_booleans)
{
    toml_ok("a = 42\nb = -17\nc = +5\nd = 1_000_000\ne = 0\nf = -0\n"
            "g = 0xDEAD_beef\nh = 0o755\ni = 0b1010\n"
            "j = 9223372036854775807\nk = -9223372036854775808\n"
            "l = 1.5\nm = -2.5e3\nn = 1e-2\no = 6.626E-34\np = inf\nq = -inf\nr = nan\n"
            "s = true\nt = false\nu = 3_1.4_1\n");
    ck_assert_int_eq(at("a", 0, 0)->u.integer, 42);
    ck_assert_int_eq(at("b", 0, 0)->u.integer, -17);
    ck_assert_int_eq(at("c", 0, 0)->u.integer, 5);
    ck_assert_int_eq(at("d", 0, 0)->u.integer, 1000000);
    ck_assert_int_eq(at("e", 0, 0)->u.integer, 0);
    ck_assert_int_eq(at("f", 0, 0)->u.integer, 0);
    ck_assert_int_eq(at("g", 0, 0)->u.integer, 0xDEADBEEF);
    ck_assert_int_eq(at("h", 0, 0)->u.integer, 0755);
    ck_assert_int_eq(at("i", 0, 0)->u.integer, 10);
    ck_assert_int_eq(at("j", 0, 0)->u.integer, INT64_MAX);
    ck_assert_int_eq(at("k", 0, 0)->u.integer, INT64_MIN);
    ck_assert_int_eq(at("l", 0, 0)->type, KW_TOML_FLOAT);
    ck_assert_double_eq(at("l", 0, 0)->u.fp, 1.5);
    ck_assert_double_eq(at("m", 0, 0)->u.fp, -2500.0);
    ck_assert_double_eq_tol(at("n", 0, 0)->u.fp, 0.01, 1e-15);
    ck_assert_double_eq_tol(at("o", 0, 0)->u.fp, 6.626e-34, 1e-45);
    ck_assert(isinf(at("p", 0, 0)->u.fp) && at("p", 0, 0)->u.fp > 0);
    ck_assert(isinf(at("q", 0, 0)->u.fp) && at("q", 0, 0)->u.fp < 0);
    ck_assert(isnan(at("r", 0, 0)->u.fp));
    ck_assert_int_eq(at("s", 0, 0)->type, KW_TOML_BOOL);
    ck_assert(at("s", 0, 0)->u.boolean);
    ck_assert(!at("t", 0, 0)->u.boolean);
    ck_assert_double_eq_tol(at("u", 0, 0)->u.fp, 31.41, 1e-12);
}
END_TEST

START_TEST(toml_arrays_tables_and_dotted_keys)
{
    toml_ok("# top comment\n"
            "top = 1 # trailing comment\n"
            "[a]\n"
            "list = [ 1, 2,\n"
            "  3, # three\n"
            "  [\"x\", 'y'], [],\n"
            "]\n"
            "b.c.d = \"deep\"\n"
            "b.c.e = true\n"
            "[a.sub]\n"
            "k = 1\n"
            "[ \"q t\" . 'r' ]\n"
            "v = 2\n"
            "[x.y.z]\n"
            "[x]\n"
            "w = 3\n"
            "[[arr]]\n"
            "n = 1\n"
            "[arr.inner]\n"
            "m = 1\n"
            "[[arr]]\n"
            "n = 2\n"
            "[inl]\n"
            "t = { a = 1, b.c = \"two\", d = { e = [1, 2] } }\n"
            "empty = {}\n");
    ck_assert_int_eq(at("top", 0, 0)->u.integer, 1);
    const kw__toml_value *list = at("a", "list", 0);
    ck_assert_int_eq(list->type, KW_TOML_ARRAY);
    ck_assert_uint_eq(list->u.array.count, 5);
    ck_assert_int_eq(list->u.array.items[2]->u.integer, 3);
    ck_assert_int_eq(list->u.array.items[2]->line, 5);
    ck_assert_str_eq(list->u.array.items[3]->u.array.items[1]->u.str.ptr, "y");
    ck_assert_uint_eq(list->u.array.items[4]->u.array.count, 0);
    const char *bcd[] = {"a", "b", "c", "d", NULL};
    ck_assert_str_eq(kw__toml_path(doc, bcd)->u.str.ptr, "deep");
    ck_assert_int_eq(at("a", "sub", "k")->u.integer, 1);
    ck_assert_int_eq(at("q t", "r", "v")->u.integer, 2);
    ck_assert_int_eq(at("x", "w", 0)->u.integer, 3);
    ck_assert_ptr_nonnull(at("x", "y", "z"));
    ck_assert_int_eq(at("x", 0, 0)->line, 15); /* defined by [x], after [x.y.z] made it */
    const kw__toml_value *arr = at("arr", 0, 0);
    ck_assert_uint_eq(arr->u.array.count, 2);
    ck_assert_int_eq(kw__toml_get(arr->u.array.items[0], "n")->u.integer, 1);
    ck_assert_int_eq(kw__toml_get(kw__toml_get(arr->u.array.items[0], "inner"), "m")->u.integer, 1);
    ck_assert_int_eq(kw__toml_get(arr->u.array.items[1], "n")->u.integer, 2);
    ck_assert_int_eq(at("inl", "t", "a")->u.integer, 1);
    ck_assert_str_eq(kw__toml_get(at("inl", "t", "b"), "c")->u.str.ptr, "two");
    ck_assert_uint_eq(kw__toml_get(at("inl", "t", "d"), "e")->u.array.count, 2);
    ck_assert_uint_eq(at("inl", "empty", 0)->u.table.count, 0);
    /* keys in order, with their lines */
    const kw__toml_value *a = at("a", 0, 0);
    ck_assert_uint_eq(a->u.table.count, 3);
    ck_assert_str_eq(a->u.table.entries[0].key, "list");
    ck_assert_int_eq(a->u.table.entries[0].line, 4);
    ck_assert_str_eq(a->u.table.entries[1].key, "b");
    ck_assert_str_eq(a->u.table.entries[2].key, "sub");
    ck_assert_ptr_null(kw__toml_get(a, "nope"));
    ck_assert_ptr_null(kw__toml_get(at("top", 0, 0), "x"));
    ck_assert_str_eq(kw__toml_type_name(KW_TOML_TABLE), "table");
}
END_TEST

START_TEST(toml_crlf_bom_and_empty_input)
{
    toml_ok("\xEF\xBB\xBF"
            "a = 1\r\n[t]\r\nb = \"\"\"x\r\ny\"\"\"\r\n");
    ck_assert_int_eq(at("t", "b", 0)->line, 3);
    ck_assert_str_eq(at("t", "b", 0)->u.str.ptr, "x\ny");
    kw__toml_free(doc);
    ck_assert_int_eq(kw__toml_parse(NULL, 0, NULL, &doc, err, sizeof(err), NULL), 0);
    ck_assert_uint_eq(doc->u.table.count, 0);
}
END_TEST

START_TEST(toml_rejects_what_toml_forbids)
{
    static const struct {
        const char *text;
        int rc;
        const char *msg;
    } cases[] = {
        {"a = 1\na = 2\n", KW_EMALFORMED, "2:1: duplicate key 'a' (first set at line 1)"},
        {"[t]\n[t]\n", KW_EMALFORMED, "2:1: table 't' is defined twice (first at line 1)"},
        {"a.b = 1\n[a]\n", KW_EMALFORMED, "2:1: table 'a' is defined twice (first at line 1)"},
        {"[a]\nb = 1\n[a.b]\n", KW_EMALFORMED,
         "3:4: 'b' is already an integer (line 2), not a table"},
        {"[a.b]\n[a]\nb.c = 1\n", KW_EMALFORMED,
         "3:1: cannot add keys to table 'b' (defined at line 1) with a dotted key"},
        {"t = {a = 1}\n[t]\n", KW_EMALFORMED,
         "2:2: table 't' was written inline at line 1 and cannot be extended"},
        {"t = {a = 1}\nt.b = 2\n", KW_EMALFORMED,
         "2:1: cannot add keys to table 't' (defined at line 1) with a dotted key"},
        {"a = [1]\n[[a]]\n", KW_EMALFORMED, "2:3: 'a' is already an array (line 1), not a table"},
        {"[[a]]\n[a]\n", KW_EMALFORMED,
         "2:1: 'a' is an array of tables (line 1); [a] cannot redefine it"},
        {"[a]\n[[a]]\n", KW_EMALFORMED, "2:1: 'a' is a table (line 1), not an array of tables"},
        {"a = \n", KW_EMALFORMED, "1:5: expected a value"},
        {"a\n", KW_EMALFORMED, "1:2: expected '=' after the key 'a'"},
        {"= 1\n", KW_EMALFORMED, "1:1: expected a key, found '='"},
        {"a = 1 b = 2\n", KW_EMALFORMED, "1:7: expected the end of the line, found 'b'"},
        {"a = \"open\n", KW_EMALFORMED, "1:5: string is not closed before the end of the line"},
        {"a = \"\"\"open\n", KW_EMALFORMED, "1:5: multi-line string is not closed"},
        {"a = \"\\q\"\n", KW_EMALFORMED, "1:6: unknown escape '\\q'"},
        {"a = \"\\u12\"\n", KW_EMALFORMED, "1:6: \\u needs 4 hex digits"},
        {"a = \"\\uD800\"\n", KW_EMALFORMED, "1:6: \\u escape U+D800 is not a Unicode scalar "
                                             "value"},
        {"a = 01\n", KW_EMALFORMED, "1:5: '01': leading zeros are not allowed"},
        {"a = 1__0\n", KW_EMALFORMED, "1:5: '1__0' is not a number"},
        {"a = _1\n", KW_EMALFORMED, "1:5: expected a value (strings need quotes)"},
        {"a = 1_\n", KW_EMALFORMED, "1:5: '1_' is not a number"},
        {"a = 1.\n", KW_EMALFORMED, "1:5: '1.' is not a number"},
        {"a = .5\n", KW_EMALFORMED, "1:5: expected a value, found '.'"},
        {"a = +0x1\n", KW_EMALFORMED, "1:5: '+0x1' is not a number"},
        {"a = 0x\n", KW_EMALFORMED, "1:5: '0x' is not a number"},
        {"a = 9223372036854775808\n", KW_EMALFORMED,
         "1:5: '9223372036854775808' does not fit in a 64-bit integer"},
        {"a = 0x8000000000000000\n", KW_EMALFORMED,
         "1:5: '0x8000000000000000' does not fit in a 64-bit integer"},
        {"a = True\n", KW_EMALFORMED, "1:5: expected a value (strings need quotes)"},
        {"a = truely\n", KW_EMALFORMED, "1:5: expected a value (strings need quotes)"},
        {"a = nope\n", KW_EMALFORMED, "1:5: 'nope' is not a number"},
        {"a = [1 2]\n", KW_EMALFORMED, "1:8: expected ',' or ']' in the array"},
        {"a = [1,,]\n", KW_EMALFORMED, "1:8: expected a value, found ','"},
        {"a = {b = 1,}\n", KW_EMALFORMED, "1:12: no trailing comma in an inline table"},
        {"a = {b = 1\n", KW_EMALFORMED, "1:11: inline table must close on the same line"},
        {"a = {b = 1, b = 2}\n", KW_EMALFORMED, "1:13: duplicate key 'b' (first set at line 1)"},
        {"[a\n", KW_EMALFORMED, "1:3: expected ']' to close the table header"},
        {"[[a]\n", KW_EMALFORMED, "1:4: expected ']]' to close the table header"},
        {"[]\n", KW_EMALFORMED, "1:2: expected a key, found ']'"},
        {"[a.]\n", KW_EMALFORMED, "1:4: expected a key, found ']'"},
        {"\"\"\"k\"\"\" = 1\n", KW_EMALFORMED, "1:1: a key cannot be a multi-line string"},
        {"a = 1\x01\n", KW_EMALFORMED, "1:6: control character U+0001 is not allowed"},
        {"a = 1 # \x7F\n", KW_EMALFORMED, "1:9: control character U+007F is not allowed"},
        {"a = 1\rb = 2\n", KW_EMALFORMED, "1:6: control character U+000D is not allowed"},
        {"a = \"\xC3\"\n", KW_EMALFORMED, "1:6: invalid UTF-8"},
        {"a = \"\xC0\xAF\"\n", KW_EMALFORMED, "1:6: invalid UTF-8"},
        {"a = \"\xED\xA0\x80\"\n", KW_EMALFORMED, "1:6: invalid UTF-8"},
        {"a = \"\"\"\"\"\"\"\"\"\n", KW_EMALFORMED,
         "1:8: too many quotes in a row in a multi-line string"},
        {"d = 1979-05-27T07:32:00Z\n", KW_EUNSUPPORTED,
         "1:5: not supported: dates and times (quote the value as a string)"},
        {"t = 07:32:00\n", KW_EUNSUPPORTED,
         "1:5: not supported: dates and times (quote the value as a string)"},
        {"a = \"\\u0000\"\n", KW_EUNSUPPORTED, "1:6: not supported: a NUL character in a string"},
        {"\"\\u0000\" = 1\n", KW_EUNSUPPORTED, "1:2: not supported: a NUL character in a string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kw__toml_value *d = NULL;
        int line = -1;
        int rc = kw__toml_parse(cases[i].text, strlen(cases[i].text), NULL, &d, err, sizeof(err),
                                &line);
        ck_assert_msg(rc == cases[i].rc, "case %zu: rc %d (%s)", i, rc, err);
        ck_assert_ptr_null(d);
        ck_assert_msg(strcmp(err, cases[i].msg) == 0, "case %zu: got \"%s\"", i, err);
        ck_assert_int_eq(line, atoi(cases[i].msg));
    }
}
END_TEST

START_TEST(toml_limits_hold)
{
    kw__toml_limits lim = {.max_input = 64, .max_depth = 3, .max_values = 10, .max_table_keys = 4};
    kw__toml_value *d = NULL;
    char big[65];
    memset(big, '#', sizeof(big));
    ck_assert_int_eq(kw__toml_parse(big, sizeof(big), &lim, &d, err, sizeof(err), NULL),
                     KW_ETOOBIG);
    ck_assert_str_eq(err, "1:1: input is 65 bytes (the limit is 64)");
    const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"a = [[[[1]]]]\n", "1:8: nested too deep (the limit is 3)"},
        {"a.b.c.d = 1\n", "1:7: key has too many dotted parts (the limit is 3)"},
        {"[a.b]\nc.d = 1\n", "2:1: nested too deep (the limit is 3)"},
        {"a=1\nb=2\nc=3\nd=4\ne=5\n", "5:1: too many keys in one table (the limit is 4)"},
        {"a=[1,2,3,4,5]\n", "1:12: too many items in one array (the limit is 4)"},
        {"[a]\nx=1\ny=2\n[b]\nx=1\ny=2\n[c]\nx=1\ny=2\nz=3\n", "10:3: too many values (the limit "
                                                               "is 10)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = kw__toml_parse(cases[i].text, strlen(cases[i].text), &lim, &d, err, sizeof(err),
                                NULL);
        ck_assert_msg(rc == KW_ETOOBIG, "case %zu: rc %d (%s)", i, rc, err);
        ck_assert_msg(strcmp(err, cases[i].msg) == 0, "case %zu: got \"%s\"", i, err);
    }
    /* The default input limit is 1 MiB; the config reader uses the defaults. */
    size_t n = (1u << 20) + 1;
    char *huge = malloc(n);
    memset(huge, '\n', n);
    ck_assert_int_eq(kw__toml_parse(huge, n, NULL, &d, err, sizeof(err), NULL), KW_ETOOBIG);
    ck_assert_int_eq(kw__wal_config_parse(huge, n, "big.toml", &cfg, err, sizeof(err)), KW_ECONFIG);
    ck_assert_str_eq(err, "big.toml:1:1: input is 1048577 bytes (the limit is 1048576)");
    ck_assert_int_eq(kw__toml_parse(huge, n - 1, NULL, &d, err, sizeof(err), NULL), 0);
    kw__toml_free(d);
    free(huge);
    /* Deep arrays at the default depth limit (32) are refused, not recursed into. */
    char deep[200];
    memset(deep, 0, sizeof(deep));
    strcpy(deep, "a = ");
    memset(deep + 4, '[', 40);
    ck_assert_int_eq(kw__toml_parse(deep, strlen(deep), NULL, &d, err, sizeof(err), NULL),
                     KW_ETOOBIG);
    ck_assert_str_eq(err, "1:37: nested too deep (the limit is 32)");
    /* A short error buffer is cut, still terminated. */
    char small[8];
    ck_assert_int_eq(kw__toml_parse("a = ", 4, NULL, &d, small, sizeof(small), NULL),
                     KW_EMALFORMED);
    ck_assert_str_eq(small, "1:5: ex");
}
END_TEST

START_TEST(selector_type_random_and_round_robin)
{
    parse_ok("[wal]\nselector_type = \"random\"\n");
    ck_assert(cfg.selector_random);
    kw__wal_config_free(&cfg);
    parse_ok("[wal]\nselector_type = \"round_robin\"\n");
    ck_assert(!cfg.selector_random);
    kw__wal_config_free(&cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("wal config");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, seed_000_metasrv_example);
    tcase_add_test(tc, aws_msk_iam_keys_map_onto_the_client);
    tcase_add_test(tc, selector_type_random_and_round_robin);
    tcase_add_test(tc, seed_000_datanode_example);
    tcase_add_test(tc, seed_000_sasl_example);
    tcase_add_test(tc, seed_000_tls_system_ca_example);
    tcase_add_test(tc, seed_000_tls_custom_ca_example);
    tcase_add_test(tc, seed_000_mtls_example);
    tcase_add_test(tc, seed_001_standalone_example);
    tcase_add_test(tc, seed_001_gtctl_block_is_yaml_and_refused);
    tcase_add_test(tc, defaults_with_no_file_no_wal_section_or_an_empty_one);
    tcase_add_test(tc, every_key_sets_its_field);
    tcase_add_test(tc, raft_engine_reads_as_local_with_a_note_and_greptimedb_keys_are_accepted);
    tcase_add_test(tc, sasl_and_tls_may_be_inline_tables);
    tcase_add_test(tc, a_file_is_read_and_a_missing_one_named);
    tcase_add_test(tc, gssapi_needs_no_username_and_takes_a_service_name);
    tcase_add_test(tc, unknown_keys_are_errors_with_a_hint);
    tcase_add_test(tc, wrong_types_are_errors);
    tcase_add_test(tc, bad_values_are_errors);
    tcase_add_test(tc, oauthbearer_token_and_token_file_map_onto_the_client);
    tcase_add_test(tc, credential_documents_and_tls_options_map_onto_the_client);
    tcase_add_test(tc, tls_server_name_checks_and_ca_dir_map_onto_the_client);
    tcase_add_test(tc, bad_security_keys_name_the_key);
    tcase_add_test(tc, topic_name_prefix_follows_greptimedb_and_kafka);
    tcase_add_test(tc, options_that_go_together);
    tcase_add_test(tc, toml_errors_carry_line_and_column);
    tcase_add_test(tc, api_version_max_names_a_known_release);
    tcase_add_test(tc, sizes_are_binary_like_greptimedb);
    tcase_add_test(tc, durations_are_humantime);
    suite_add_tcase(s, tc);
    TCase *tt = tcase_create("toml");
    tcase_add_checked_fixture(tt, NULL, toml_teardown);
    tcase_add_test(tt, toml_strings);
    tcase_add_test(tt, toml_numbers_and_booleans);
    tcase_add_test(tt, toml_arrays_tables_and_dotted_keys);
    tcase_add_test(tt, toml_crlf_bom_and_empty_input);
    tcase_add_test(tt, toml_rejects_what_toml_forbids);
    tcase_add_test(tt, toml_limits_hold);
    suite_add_tcase(s, tt);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Starts, drives and stops kwal-test-proxy from a C test (the fault-injecting loopback proxy). */
#ifndef KW_TESTS_PROXY_CTL_H
#define KW_TESTS_PROXY_CTL_H

#include <stddef.h>
#include <sys/types.h>

typedef struct kt_proxy {
    pid_t pid;            /* the proxy process; 0 when not running */
    int control_fd;       /* one control connection, kept open */
    int stdin_fd;         /* the proxy's stdin: closing it (or dying) makes the proxy exit */
    int listen_port;
    int control_port;
    char listen_addr[32]; /* "127.0.0.1:PORT": where clients connect instead of the target */
} kt_proxy;

/* The proxy binary: $KWAL_TEST_PROXY if set, else the path the build compiled in. */
const char *kt_proxy_path(void);

/*
 * Starts the proxy in front of target ("127.0.0.1:PORT"), listening on a free
 * loopback port, with its default safety timer (600 s).  Waits up to 10 s for
 * it to report its ports.  Returns 0, or -1 (with a message on stderr).
 */
int kt_proxy_start(kt_proxy *p, const char *target);

/* The same with a safety timer of max_seconds (0 = the proxy's default). */
int kt_proxy_start_timed(kt_proxy *p, const char *target, int max_seconds);

/* Sends one control line ("stall", "cut-after 5", ...); 0 when the proxy answered "ok". */
int kt_proxy_cmd(kt_proxy *p, const char *cmd);

/*
 * Sends one control line and copies the answer line (without its newline) into
 * reply; returns 0 when it starts with "ok", -1 otherwise.  "stats" answers
 * "ok accepted=A refused=R open=O client_to_target=U target_to_client=D ...".
 */
int kt_proxy_query(kt_proxy *p, const char *cmd, char *reply, size_t reply_len);

/* Reads one "key=NUMBER" field from a stats reply; -1 when it is not there. */
long long kt_proxy_stat(const char *reply, const char *key);

/*
 * Waits up to timeout_ms for the proxy to exit by itself; returns its exit
 * status (0..255), 128+signal if a signal ended it, or -1 if it is still
 * running (it is left running).
 */
int kt_proxy_wait(kt_proxy *p, int timeout_ms);

/*
 * Stops the proxy: SIGTERM, then SIGKILL after 5 s, and reaps it.  Returns the
 * exit status as kt_proxy_wait does (0 for a clean exit).  Safe to call twice.
 */
int kt_proxy_stop(kt_proxy *p);

#endif

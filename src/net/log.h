/* Formatting a log line for a host's kw_log_fn: the one helper every handle's log goes through. */
#ifndef KW_NET_LOG_H
#define KW_NET_LOG_H

#include <stdarg.h>

#include "kwal/error.h"

/* Longest line handed to a log callback, NUL included; longer lines are cut. */
#define KW_LOG_LINE_MAX 768

/* Formats and calls fn(arg, level, line) when fn is set (else does nothing, not even format). */
void kw__vlog(kw_log_fn *fn, void *arg, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
void kw__log(kw_log_fn *fn, void *arg, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* KW_NET_LOG_H */

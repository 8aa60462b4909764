/* Formatting a log line for a host's kw_log_fn (see log.h). */
#include "net/log.h"

#include <stdio.h>

void kw__vlog(kw_log_fn *fn, void *arg, int level, const char *fmt, va_list ap)
{
    if (!fn)
        return;
    char line[KW_LOG_LINE_MAX];
    vsnprintf(line, sizeof(line), fmt, ap);
    fn(arg, level, line);
}

void kw__log(kw_log_fn *fn, void *arg, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kw__vlog(fn, arg, level, fmt, ap);
    va_end(ap);
}

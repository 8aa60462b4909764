/* kwal's own error codes: names and messages from the one table in kwal/error.h. */
#include "kwal/error.h"

const char *kw_strerror(int err)
{
    switch (err) {
    case KW_OK:
        return "success";
#define KW__ERRNO_MSG(name, value, msg) \
    case value:                         \
        return msg;
        KW_ERRNO_MAP(KW__ERRNO_MSG)
#undef KW__ERRNO_MSG
    }
    return "unknown error";
}

const char *kw_err_name(int err)
{
    switch (err) {
    case KW_OK:
        return "KW_OK";
#define KW__ERRNO_NAME(name, value, msg) \
    case value:                          \
        return "KW_E" #name;
        KW_ERRNO_MAP(KW__ERRNO_NAME)
#undef KW__ERRNO_NAME
    }
    return "KW_EUNKNOWN";
}

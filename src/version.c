/* kw_version(): the version the library was built as, from the generated kwal/version.h. */
#include "kwal/version.h"

const char *kw_version(void)
{
    return KW_VERSION_STRING;
}

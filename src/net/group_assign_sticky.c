/* The cooperative-sticky assignor: balanced, sticky, and never moving a partition while its owner still holds it. */
#include "group_assign_int.h"

#include <stdio.h>

int kw__assign_cooperative_sticky(const kw__assign_input *in, kw_arena *arena,
                                  kw__member_assignment *out, char *detail, size_t detail_cap)
{
    (void)in;
    (void)arena;
    (void)out;
    if (detail && detail_cap)
        snprintf(detail, detail_cap, "the cooperative-sticky assignor is not built yet");
    return KW_EUNSUPPORTED;
}

/* Produce, Fetch, ListOffsets, Metadata and DeleteRecords message tables. */
#ifndef KW_PROTO_MSG_DATA_H
#define KW_PROTO_MSG_DATA_H

#include "msg.h"

#endif /* KW_PROTO_MSG_DATA_H */

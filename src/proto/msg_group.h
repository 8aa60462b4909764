/* Consumer-group and transaction message tables. */
#ifndef KW_PROTO_MSG_GROUP_H
#define KW_PROTO_MSG_GROUP_H

#include "msg.h"

#endif /* KW_PROTO_MSG_GROUP_H */

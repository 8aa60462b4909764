/* CreateTopics, DeleteTopics, DescribeConfigs, CreatePartitions and SASL message tables. */
#ifndef KW_PROTO_MSG_ADMIN_H
#define KW_PROTO_MSG_ADMIN_H

#include "msg.h"

#endif /* KW_PROTO_MSG_ADMIN_H */
